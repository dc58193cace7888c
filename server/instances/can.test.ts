import { describe, expect, it } from 'vitest';
import { copyWhyNot, instanceCan, instanceStates, whyNot } from './can';
import { checkQuota } from '../quotas';
import { hostCapacity } from '../hosts';

describe('instanceCan', () => {
  it('allows each action only from its states, and says why not otherwise', () => {
    const table = Object.fromEntries(instanceStates.map((s) => [s, (['start', 'stop', 'reboot', 'suspend', 'resume', 'snapshot', 'restore', 'clone', 'capture', 'resize', 'terminate'] as const).filter((a) => instanceCan[a]({ state: s }))]));
    expect(table).toEqual({
      pending: ['terminate'],
      starting: ['stop', 'terminate'],
      running: ['stop', 'reboot', 'suspend', 'snapshot', 'restore', 'clone', 'capture', 'resize', 'terminate'],
      stopping: ['terminate'],
      stopped: ['start', 'snapshot', 'restore', 'clone', 'capture', 'resize', 'terminate'],
      suspending: ['terminate'],
      suspended: ['stop', 'resume', 'terminate'],
      resuming: ['terminate'],
      restoring: ['terminate'],
      resizing: ['terminate'],
      terminating: [],
      terminated: [],
      error: ['terminate'],
    });
    expect(whyNot('start', 'running')).toBe('A running instance cannot be started (only a stopped one can).');
    expect(whyNot('reboot', 'terminated')).toBe('This instance is terminated.');
    expect(whyNot('stop', 'running')).toBeNull();
  });

  it('clones its disk now only running or stopped, and its snapshots from any state that keeps them', () => {
    const now = instanceStates.filter((s) => copyWhyNot('clone', s, false) === null);
    const fromSnapshot = instanceStates.filter((s) => copyWhyNot('clone', s, true) === null);
    expect(now).toEqual(['running', 'stopped']);
    expect(fromSnapshot).toEqual(['running', 'stopping', 'stopped', 'suspending', 'suspended', 'resuming', 'restoring', 'resizing', 'error']);
    expect(copyWhyNot('clone', 'suspended', false)).toMatch(/resume it first, or use one of its snapshots/);
    expect(copyWhyNot('capture', 'pending', false)).toBe('A pending instance cannot be made into an image.');
    expect(copyWhyNot('clone', 'pending', true)).toBe('A pending instance cannot be cloned.');
    expect(copyWhyNot('clone', 'terminated', true)).toBe('This instance is terminated.');
  });
});

describe('quota and capacity arithmetic', () => {
  const limits = { instances: 5, vcpus: 8, memoryMiB: 1024, diskGiB: 10, nics: 4, networks: 2, bandwidthMbit: 100, portForwards: 1, savedStateMiB: 512, snapshots: 2, snapshotGiB: 10, volumes: 2, volumeGiB: 10 };
  const none = { instances: 0, vcpus: 0, memoryMiB: 0, diskGiB: 0, nics: 0, networks: 0, bandwidthMbit: 0, portForwards: 0, savedStateMiB: 0, snapshots: 0, snapshotGiB: 0, volumes: 0, volumeGiB: 0 };
  it('accepts up to the limit exactly, refuses one past it with units', () => {
    expect(() => checkQuota(limits, { ...none, memoryMiB: 512 }, { ...none, memoryMiB: 512 })).not.toThrow();
    expect(() => checkQuota(limits, { ...none, memoryMiB: 600 }, { ...none, memoryMiB: 512 })).toThrow(
      'Memory quota exceeded: this launch needs 512 MiB, the tenant uses 600 MiB of its 1024 MiB limit, so 424 MiB are left.',
    );
  });
  it('a limit lowered below usage refuses and says nothing is left', () => {
    expect(() => checkQuota(limits, { ...none, nics: 6 }, { ...none, nics: 1 })).toThrow(/uses 6 of its 4 limit, so 0 are left/);
  });
  it('a resource the request does not ask for does not refuse it, even over its limit', () => {
    expect(() => checkQuota(limits, { ...none, networks: 3 }, { ...none, vcpus: 1 })).not.toThrow();
  });
  it('names what is asked for and puts the refusal beside the field given', () => {
    expect(() => checkQuota(limits, { ...none, bandwidthMbit: 80 }, { bandwidthMbit: 30 }, 'this rate', { bandwidthMbit: 'rateMbit' })).toThrow(
      'Network bandwidth quota exceeded: this rate needs 30 Mbit/s, the tenant uses 80 Mbit/s of its 100 Mbit/s limit, so 20 Mbit/s are left.',
    );
  });
  it('host capacity applies the ratios and the reserve', () => {
    expect(hostCapacity({ cpus: 2, memoryMiB: 4096, diskGiB: 50, cpuRatioPct: 400, ramRatioPct: 150, ramReserveMiB: 512 })).toEqual({
      vcpus: 8,
      memoryMiB: 5632,
      diskGiB: 50,
    });
  });
});
