// One network on one host: its bridge, its router namespace (gateway on the
// bridge through one veth, the host through another), the router's rules and
// its dnsmasq. `ensureNetwork` creates what is missing and repairs what
// drifted; `removeNetwork` takes it all down. Every call is an argv array of
// names and addresses from a validated spec.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dhcpHostsFile, dnsHostsFile, dnsmasqArgs, dnsmasqFiles, leasedMacs, pruneLeases, type DnsmasqFiles } from './dnsmasq';
import type { Runner } from './exec';
import { parseCidr } from './ipv4';
import type { KernelState } from './kernel-state';
import { readNamespaceAddresses } from './kernel-state';
import { bridgeName, ROUTER_LAN, ROUTER_UPLINK, routerNamespace, routerPortName, stableMac, transitName, transitPair, VXLAN_PORT, vxlanName } from './names';
import { routerRuleset } from './nft';
import type { NetworkSpec } from './spec';

export interface RouterContext {
  run: Runner;
  tag: string;
  /** Per-network runtime files live in `<runDir>/<network id>/`. */
  runDir: string;
  upstreamDns: string[];
  log: (m: string) => void;
}

/** Write a sysctl of the host's namespace directly (no process). */
export function writeSysctl(key: string, value: string): void {
  writeFileSync(path.join('/proc/sys', ...key.split('.')), value);
}

const pidAlive = (pid: number, marker: string) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').some((a) => a.includes(marker));
  } catch {
    return false;
  }
};

function dnsmasqPid(files: DnsmasqFiles): number | null {
  try {
    const pid = Number.parseInt(readFileSync(files.pidFile, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 1 && pidAlive(pid, files.pidFile) ? pid : null;
  } catch {
    return null;
  }
}

async function stopDnsmasq(files: DnsmasqFiles): Promise<void> {
  const pid = dnsmasqPid(files);
  if (pid === null) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && pidAlive(pid, files.pidFile); i++) await new Promise((r) => setTimeout(r, 20));
  if (pidAlive(pid, files.pidFile)) process.kill(pid, 'SIGKILL');
}

/** dnsmasq daemonizes itself: its foreground process exits 0 once it serves (config errors exit non-zero, on stderr). */
function startDnsmasq(netns: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'dnsmasq', ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (e) => reject(new Error(`cannot run dnsmasq: ${e.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dnsmasq failed (exit ${code}): ${stderr.trim() || 'no message'}`))));
  });
}

/** Make the network's router, bridge and DHCP exist as `n` says. */
export async function ensureNetwork(ctx: RouterContext, n: NetworkSpec, state: KernelState): Promise<void> {
  const { run, tag } = ctx;
  const ns = routerNamespace(tag, n.id);
  const bridge = bridgeName(tag, n.id);
  const port = routerPortName(tag, n.id);
  const transit = transitName(tag, n.id);
  const { host, router } = transitPair(tag, n.slot);
  const prefix = parseCidr(n.cidr).prefix;
  const files = dnsmasqFiles(path.join(ctx.runDir, n.id));

  // 1. Namespace and its two links. A namespace that is new (or lost a link)
  // gets both links afresh, and its DHCP server restarts inside it.
  let fresh = false;
  if (!state.namespaces.has(ns)) {
    await run('ip', ['netns', 'add', ns]);
    fresh = true;
  }
  const inside = await readNamespaceAddresses(run, ns);
  if (fresh || !inside.has(ROUTER_LAN) || !inside.has(ROUTER_UPLINK) || !state.links.has(port) || !state.links.has(transit)) {
    for (const l of [port, transit]) if (state.links.has(l)) await run('ip', ['link', 'del', l]).catch(() => undefined);
    for (const l of [ROUTER_LAN, ROUTER_UPLINK]) if (inside.has(l)) await run('ip', ['-n', ns, 'link', 'del', l]).catch(() => undefined);
    await run('ip', ['link', 'add', port, 'address', stableMac(`${n.id}/port`), 'type', 'veth', 'peer', 'name', ROUTER_LAN, 'address', stableMac(`${n.id}/gw`), 'netns', ns]);
    await run('ip', ['link', 'add', transit, 'type', 'veth', 'peer', 'name', ROUTER_UPLINK, 'netns', ns]);
    state.links.set(port, { name: port, kind: 'veth', master: null, up: false });
    state.links.set(transit, { name: transit, kind: 'veth', master: null, up: false });
    inside.clear();
    fresh = true;
  }
  if (fresh) {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.disable_ipv6=1'], { netns: ns });
  }
  if (!(inside.get(ROUTER_LAN) ?? []).includes(`${n.gateway}/${prefix}`)) {
    await run('ip', ['-n', ns, 'addr', 'flush', 'dev', ROUTER_LAN]);
    await run('ip', ['-n', ns, 'addr', 'add', `${n.gateway}/${prefix}`, 'dev', ROUTER_LAN]);
  }
  if (!(inside.get(ROUTER_UPLINK) ?? []).includes(`${router}/31`)) {
    await run('ip', ['-n', ns, 'addr', 'flush', 'dev', ROUTER_UPLINK]);
    await run('ip', ['-n', ns, 'addr', 'add', `${router}/31`, 'dev', ROUTER_UPLINK]);
  }
  await run('ip', ['-n', ns, 'link', 'set', ROUTER_LAN, 'up']);
  await run('ip', ['-n', ns, 'link', 'set', ROUTER_UPLINK, 'up']);
  await run('ip', ['-n', ns, 'route', 'replace', 'default', 'via', host, 'dev', ROUTER_UPLINK]);

  // 2. The host's side of the transit link: its address, and loopback
  // clients of port forwards may be routed out of it (masqueraded by the host's rules).
  await run('ip', ['addr', 'replace', `${host}/31`, 'dev', transit]);
  if (!state.links.get(transit)?.up) await run('ip', ['link', 'set', transit, 'up']);
  writeSysctl(`net.ipv4.conf.${transit}.route_localnet`, '1');
  writeSysctl(`net.ipv6.conf.${transit}.disable_ipv6`, '1');

  // 3. The bridge (no address on the host: tenants' ranges may overlap) and the router's port on it.
  if (!state.links.has(bridge)) {
    await run('ip', ['link', 'add', bridge, 'address', stableMac(`${n.id}/bridge`), 'type', 'bridge', 'nf_call_iptables', '0', 'nf_call_arptables', '0']);
    state.links.set(bridge, { name: bridge, kind: 'bridge', master: null, up: false });
    writeSysctl(`net.ipv6.conf.${bridge}.disable_ipv6`, '1');
  }
  if (!state.links.get(bridge)?.up) await run('ip', ['link', 'set', bridge, 'up']);
  // The host has no address here and must not answer ARP for its others (the bridge table drops it too).
  writeSysctl(`net.ipv4.conf.${bridge}.arp_ignore`, '8');
  const p = state.links.get(port);
  if (p?.master !== bridge || !p.up) await run('ip', ['link', 'set', port, 'master', bridge, 'up']);
  await ensureVxlan(ctx, n, state);

  // 4. The router's rules (always re-applied: one atomic nft transaction, and a table deleted behind our back comes back).
  await run('nft', ['-f', '-'], { netns: ns, input: routerRuleset(n) });

  // 5. DHCP and DNS.
  await ensureDhcp(ctx, n, ns, files, fresh);
}

/**
 * The network's VXLAN port on its bridge, when it spans hosts: a device with
 * the network's id and this host's underlay address, and one all-zeros
 * forwarding entry per peer (head-end replication: broadcasts, unknown
 * unicast and ARP go to each host that has the network; which host a MAC is
 * behind is learnt from what arrives, so a guest that moved is found again by
 * the announcement QEMU sends after a migration). Its MTU is the guests'
 * 1500: the underlay carries 50 bytes more per frame. A network on this host
 * alone has none.
 */
async function ensureVxlan(ctx: RouterContext, n: NetworkSpec, state: KernelState): Promise<void> {
  const { run, tag } = ctx;
  const dev = vxlanName(tag, n.id);
  const bridge = bridgeName(tag, n.id);
  const have = state.links.get(dev);
  if (!n.vxlan) {
    if (have) await run('ip', ['link', 'del', dev]);
    return;
  }
  const { vni, local, peers } = n.vxlan;
  if (have && (have.vxlan?.id !== vni || have.vxlan.local !== local || have.vxlan.mtu !== 1500)) {
    await run('ip', ['link', 'del', dev]);
    state.links.delete(dev);
  }
  if (!state.links.has(dev)) {
    await run('ip', ['link', 'add', dev, 'mtu', '1500', 'type', 'vxlan', 'id', String(vni), 'local', local, 'dstport', String(VXLAN_PORT)]);
    state.links.set(dev, { name: dev, kind: 'vxlan', master: null, up: false, vxlan: { id: vni, local, mtu: 1500 } });
    writeSysctl(`net.ipv6.conf.${dev}.disable_ipv6`, '1');
  }
  const link = state.links.get(dev)!;
  if (link.master !== bridge || !link.up) await run('ip', ['link', 'set', dev, 'master', bridge, 'up']);
  // Floods go to every peer; learnt entries (a MAC behind a peer) come and go by themselves.
  const { stdout } = await run('bridge', ['-j', 'fdb', 'show', 'dev', dev]);
  const flooding = new Set(
    (JSON.parse(stdout || '[]') as { mac?: string; dst?: string }[]).filter((e) => e.mac === '00:00:00:00:00:00' && e.dst).map((e) => e.dst!),
  );
  for (const peer of peers) if (!flooding.has(peer)) await run('bridge', ['fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', peer]);
  for (const gone of flooding) if (!peers.includes(gone)) await run('bridge', ['fdb', 'del', '00:00:00:00:00:00', 'dev', dev, 'dst', gone]);
}

async function ensureDhcp(ctx: RouterContext, n: NetworkSpec, ns: string, files: DnsmasqFiles, restart: boolean): Promise<void> {
  mkdirSync(files.dir, { recursive: true, mode: 0o755 });
  const hosts = dhcpHostsFile(n);
  const names = dnsHostsFile(n);
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : null);
  const changed = read(files.dhcpHosts) !== hosts || read(files.dnsHosts) !== names;
  const keep = new Set(n.nics.map((nic) => nic.mac));
  const leases = read(files.leases) ?? '';
  // A NIC that is gone must leave no lease behind: dnsmasq keeps leases in
  // memory, so restart it on a pruned lease file.
  const stale = leasedMacs(leases).some((m) => !keep.has(m));
  if (changed) {
    writeFileSync(files.dhcpHosts, hosts, { mode: 0o644 });
    writeFileSync(files.dnsHosts, names, { mode: 0o644 });
  }
  let pid = dnsmasqPid(files);
  if (pid !== null && (restart || stale)) {
    await stopDnsmasq(files);
    pid = null;
  }
  if (pid === null) {
    writeFileSync(files.leases, pruneLeases(leases, keep), { mode: 0o644 });
    await startDnsmasq(ns, dnsmasqArgs(n, files, ctx.upstreamDns));
  } else if (changed) {
    process.kill(pid, 'SIGHUP');
  }
}

/** Take a network off this host: its DHCP server, router namespace (and both veths with it), bridge and files. */
export async function removeNetwork(ctx: RouterContext, networkId: string, state: KernelState): Promise<void> {
  const { run, tag } = ctx;
  const files = dnsmasqFiles(path.join(ctx.runDir, networkId));
  await stopDnsmasq(files);
  const ns = routerNamespace(tag, networkId);
  if (state.namespaces.has(ns)) {
    // Anything else still inside (a dnsmasq whose pid file was lost) would keep the namespace alive.
    const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).map(Number).filter((x) => Number.isSafeInteger(x) && x > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', ns]);
  }
  for (const l of [routerPortName(tag, networkId), transitName(tag, networkId), vxlanName(tag, networkId), bridgeName(tag, networkId)]) {
    if (state.links.has(l)) await run('ip', ['link', 'del', l]).catch(() => undefined);
  }
  rmSync(files.dir, { recursive: true, force: true });
}
