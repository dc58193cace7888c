'use client';

import '@xterm/xterm/css/xterm.css';
import type { Terminal } from '@xterm/xterm';
import { useCallback, useEffect, useRef } from 'react';
import type { Instance } from '../instances/format';
import { SerialLog } from '../instances/serial-log';
import { Card } from '../ui/page';
import { ConnectionStatus } from './connection-status';
import { useConsoleSession, type AttachViewer } from './use-console-session';

const encoder = new TextEncoder();

/** Bytes of a "binary" string from xterm (one char per byte, e.g. mouse reports). */
function binaryBytes(data: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff);
}

/**
 * The guest's serial port as a terminal (xterm.js), both ways. The terminal
 * outlives connections, so what it showed stays when a reconnect happens; the
 * serial log below keeps the history from before the page was opened.
 */
export function SerialConsole({ instance, stillRunning }: { instance: Instance; stillRunning: () => Promise<boolean> }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const terminal = useRef<Promise<Terminal> | null>(null);

  // One terminal for the life of the page, sized to its box.
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    let disposed = false;
    let cleanup = () => {};
    terminal.current = Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]).then(([{ Terminal }, { FitAddon }]) => {
      const term = new Terminal({
        convertEol: false,
        cursorBlink: true,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
        fontSize: 14,
        scrollback: 5_000,
        theme: { background: '#020617' },
      });
      // The terminal takes every key (Tab included); Shift+Esc gives the keyboard back to the page.
      term.attachCustomKeyEventHandler((e) => {
        if (e.key !== 'Escape' || !e.shiftKey) return true;
        if (e.type === 'keydown') {
          term.blur();
          document.querySelector<HTMLElement>('[role="log"][aria-label="Serial log"]')?.focus();
        }
        return false;
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      if (!disposed) {
        term.open(host);
        fit.fit();
        const resize = new ResizeObserver(() => fit.fit());
        resize.observe(host);
        cleanup = () => resize.disconnect();
      }
      return term;
    });
    const made = terminal.current;
    return () => {
      disposed = true;
      terminal.current = null;
      void made.then((term) => {
        cleanup();
        term.dispose();
      });
    };
  }, []);

  const attach = useCallback<AttachViewer>((channel, connected) => {
    let ended = false;
    let unwire = () => {};
    const made = terminal.current;
    void made?.then((term) => {
      if (ended) return;
      channel.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) term.write(new Uint8Array(e.data));
        else if (typeof e.data === 'string') term.write(e.data);
      };
      const send = (bytes: Uint8Array<ArrayBuffer>) => {
        if (channel.readyState === WebSocket.OPEN) channel.send(bytes);
      };
      const typed = term.onData((data) => send(encoder.encode(data)));
      const binary = term.onBinary((data) => send(binaryBytes(data)));
      unwire = () => {
        typed.dispose();
        binary.dispose();
        channel.onmessage = null;
      };
      connected();
      const active = document.activeElement;
      if (!active || active === document.body || hostRef.current?.contains(active)) term.focus();
    });
    return () => {
      ended = true;
      unwire();
    };
  }, []);

  const { status, reconnectNow } = useConsoleSession({ instanceId: instance.id, kind: 'serial', enabled: true, attach, stillRunning });

  return (
    <div className="space-y-4">
      <ConnectionStatus status={status} onReconnect={reconnectNow} />
      <div className="space-y-2">
        <div
          ref={hostRef}
          role="group"
          aria-label={`Serial terminal of ${instance.name}`}
          aria-describedby="serial-hint"
          className="h-[50vh] min-h-64 w-full overflow-hidden rounded-md bg-slate-950 p-2"
        />
        <p id="serial-hint" className="text-xs text-slate-500">
          Click the terminal to type; press Enter for a prompt. Shift+Esc gives the keyboard back to the page.
        </p>
      </div>
      <Card title="Serial log" description="Everything the serial port printed (the last 64 KiB), including before this page was opened.">
        <SerialLog instance={instance} />
      </Card>
    </div>
  );
}
