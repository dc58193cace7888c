'use client';

import type RFB from '@novnc/novnc';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Instance } from '../instances/format';
import { Button } from '../ui/button';
import { ConnectionStatus } from './connection-status';
import { keyPressesFor, XK_SHIFT_L } from './keys';
import { PasteText } from './paste-text';
import type { AttachViewer } from './use-console-session';
import { useConsoleSession } from './use-console-session';
import { useFullscreen } from './use-fullscreen';

// noVNC touches `window` when it loads: load it in the browser, once.
let rfbModule: Promise<typeof import('@novnc/novnc')> | null = null;
const loadRfb = () => (rfbModule ??= import('@novnc/novnc'));

/** The guest's screen over VNC (noVNC), with the keys a browser cannot send and a way to paste text. */
export function VncConsole({ instance, stillRunning }: { instance: Instance; stillRunning: () => Promise<boolean> }) {
  const screenRef = useRef<HTMLDivElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const [scale, setScale] = useState(true);
  const scaleRef = useRef(scale);
  const { isFullscreen, toggleFullscreen, canFullscreen } = useFullscreen(frameRef);

  const attach = useCallback<AttachViewer>((channel, connected) => {
    let rfb: RFB | null = null;
    let ended = false;
    let rfbDisconnected = false;
    void loadRfb().then(({ default: RFBClass }) => {
      const target = screenRef.current;
      if (ended || !target) return;
      const r = new RFBClass(target, channel);
      rfb = r;
      r.scaleViewport = scaleRef.current;
      r.background = 'rgb(2, 6, 23)';
      r.addEventListener('connect', () => {
        rfbRef.current = r;
        connected();
        // Type at once, unless the user is busy in another control on the page.
        const active = document.activeElement;
        if (!active || active === document.body || target.contains(active)) r.focus({ preventScroll: true });
      });
      r.addEventListener('disconnect', () => {
        rfbDisconnected = true;
        if (rfbRef.current === r) rfbRef.current = null;
      });
    });
    return () => {
      ended = true;
      // A disconnected RFB object must not be told to disconnect again (noVNC logs an error).
      if (rfb && !rfbDisconnected) rfb.disconnect();
      if (rfbRef.current === rfb) rfbRef.current = null;
    };
  }, []);

  const { status, reconnectNow } = useConsoleSession({ instanceId: instance.id, kind: 'vnc', enabled: true, attach, stillRunning });
  const connected = status?.phase === 'connected';
  const notConnected = connected ? undefined : 'Available once the console is connected.';

  useEffect(() => {
    scaleRef.current = scale;
    if (rfbRef.current) rfbRef.current.scaleViewport = scale;
  }, [scale]);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <ConnectionStatus status={status} onReconnect={reconnectNow} />
        <div role="toolbar" aria-label="Console controls" className="flex flex-wrap gap-2">
          <Button variant="secondary" disabledReason={notConnected} onClick={() => rfbRef.current?.sendCtrlAltDel()}>
            Send Ctrl-Alt-Del
          </Button>
          <Button variant="secondary" aria-pressed={scale} onClick={() => setScale((s) => !s)}>
            Scale to fit
          </Button>
          <Button
            variant="secondary"
            disabledReason={canFullscreen ? undefined : 'This browser cannot show the console full screen.'}
            onClick={() => {
              void toggleFullscreen();
              rfbRef.current?.focus();
            }}
          >
            {isFullscreen ? 'Exit fullscreen' : 'Fullscreen'}
          </Button>
        </div>
      </div>
      <div ref={frameRef} className={isFullscreen ? 'flex h-full flex-col bg-slate-950' : 'space-y-2'}>
        <div
          ref={screenRef}
          tabIndex={0}
          role="application"
          aria-label={`Screen of ${instance.name}`}
          aria-describedby="console-hint"
          onFocus={(e) => {
            if (e.target === e.currentTarget) rfbRef.current?.focus();
          }}
          onKeyDownCapture={(e) => {
            // The screen takes every key (Tab included); Shift+Esc gives the keyboard back to the page.
            if (e.key === 'Escape' && e.shiftKey) {
              e.preventDefault();
              e.stopPropagation();
              rfbRef.current?.blur();
              document.getElementById('console-paste')?.focus();
            }
          }}
          className={`w-full overflow-hidden bg-slate-950 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 ${
            isFullscreen ? 'min-h-0 flex-1' : 'h-[60vh] min-h-64 rounded-md'
          }`}
        />
        <p id="console-hint" className={`text-xs ${isFullscreen ? 'px-3 py-1 text-slate-300' : 'text-slate-500'}`}>
          Click the screen to type. Shift+Esc gives the keyboard back to the page.
        </p>
      </div>
      <PasteText
        disabledReason={notConnected}
        onPaste={(text) => typeText(rfbRef, text)}
      />
    </div>
  );
}

/** Between two typed characters: a guest's PS/2 queue holds only a few keys, and a busy guest reads it slowly. */
const KEY_INTERVAL_MS = 15;

/** Type `text` into the guest key by key (a text console has no clipboard to paste into); false if the session ended first. */
async function typeText(rfbRef: { current: RFB | null }, text: string): Promise<boolean> {
  const session = rfbRef.current;
  for (const key of keyPressesFor(text)) {
    const rfb = rfbRef.current;
    if (!rfb || rfb !== session) return false;
    if (key.shift) rfb.sendKey(XK_SHIFT_L, 'ShiftLeft', true);
    rfb.sendKey(key.keysym, key.code);
    if (key.shift) rfb.sendKey(XK_SHIFT_L, 'ShiftLeft', false);
    await new Promise((resolve) => setTimeout(resolve, KEY_INTERVAL_MS));
  }
  return Boolean(session);
}
