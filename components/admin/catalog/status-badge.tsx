/** Whether a catalog entry (flavor or image) is offered to tenants. */
export function StatusBadge({ enabled }: { enabled: boolean }) {
  return enabled ? (
    <span className="rounded bg-emerald-100 px-1.5 py-0.5 text-xs whitespace-nowrap text-emerald-900">enabled</span>
  ) : (
    <span className="rounded bg-slate-200 px-1.5 py-0.5 text-xs whitespace-nowrap text-slate-800">disabled</span>
  );
}
