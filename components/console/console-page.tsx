'use client';

import { ConsoleFrame, type ConsoleView } from './console-frame';
import { SerialConsole } from './serial-console';
import { VncConsole } from './vnc-console';

/** /t/<slug>/instances/<id>/console and …/serial: the frame, then the screen or the serial terminal. */
export function ConsolePage({ instanceId, view }: { instanceId: string; view: ConsoleView }) {
  return (
    <ConsoleFrame instanceId={instanceId} view={view}>
      {(instance, stillRunning) =>
        view === 'console' ? (
          <VncConsole instance={instance} stillRunning={stillRunning} />
        ) : (
          <SerialConsole instance={instance} stillRunning={stillRunning} />
        )
      }
    </ConsoleFrame>
  );
}
