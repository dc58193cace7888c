// What a network, or an instance's network, may do now: one module the server
// refuses with and the UI disables buttons with (no server imports: the
// browser bundles it). Each returns null when allowed, else the sentence why not.

export const networkCan = {
  delete(n: { name: string; isDefault: boolean }): string | null {
    return n.isDefault ? `“${n.name}” is the tenant’s default network; it cannot be deleted.` : null;
  },

  /** NIC rates and port forwards change only while the instance is not on its way out. */
  changeInstance(i: { name: string; state: string }): string | null {
    if (i.state === 'terminated') return `${i.name} is terminated; its network cannot change.`;
    if (i.state === 'terminating') return `${i.name} is being terminated; its network cannot change.`;
    return null;
  },

  /** A port forward or a rate needs the NIC on a tenant network (a user-mode NIC has neither a router nor a tap to shape). */
  useNic(nic: { mode: string; position: number }, what: 'Port forwards' | 'Rates', instanceName: string): string | null {
    return nic.mode === 'bridged' ? null : `${what} need a tenant network; eth${nic.position} of ${instanceName} uses user-mode networking.`;
  },
};
