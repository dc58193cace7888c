// What an instance may do in each state: one module, used by the server to
// refuse and by the UI to disable a button with the reason. (No server imports:
// the browser bundles this file.)

export const instanceStates = ['pending', 'starting', 'running', 'stopping', 'stopped', 'terminating', 'terminated', 'error'] as const;
export type InstanceState = (typeof instanceStates)[number];
export type InstanceAction = 'start' | 'stop' | 'reboot' | 'terminate';

const allowed: Record<InstanceAction, readonly InstanceState[]> = {
  start: ['stopped'],
  stop: ['running', 'starting'],
  reboot: ['running'],
  terminate: ['pending', 'starting', 'running', 'stopping', 'stopped', 'error'],
};

const verbs: Record<InstanceAction, string> = { start: 'started', stop: 'stopped', reboot: 'rebooted', terminate: 'terminated' };

/** null when allowed; otherwise the sentence saying why not. */
export function whyNot(action: InstanceAction, state: InstanceState): string | null {
  if (allowed[action].includes(state)) return null;
  if (state === 'terminated') return 'This instance is terminated.';
  if (state === 'terminating') return 'This instance is being terminated.';
  return `A ${state} instance cannot be ${verbs[action]}${action === 'start' ? ' (only a stopped one can)' : ''}.`;
}

export const instanceCan = {
  start: (i: { state: InstanceState }) => whyNot('start', i.state) === null,
  stop: (i: { state: InstanceState }) => whyNot('stop', i.state) === null,
  reboot: (i: { state: InstanceState }) => whyNot('reboot', i.state) === null,
  terminate: (i: { state: InstanceState }) => whyNot('terminate', i.state) === null,
};

export const allowedFrom = (action: InstanceAction) => allowed[action];

/** States that are on their way somewhere: the UI polls while any is shown. */
export const transitional: readonly InstanceState[] = ['pending', 'starting', 'stopping', 'terminating'];
