export const roles = ['viewer', 'member', 'owner'] as const;
export type Role = (typeof roles)[number];

const rank: Record<Role, number> = { viewer: 0, member: 1, owner: 2 };

/** Whether `role` grants at least what `needed` grants (owner ⊇ member ⊇ viewer). */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return rank[role] >= rank[needed];
}

export const roleLabels: Record<Role, string> = {
  owner: 'Owner — manages members and everything else',
  member: 'Member — launches and operates instances',
  viewer: 'Viewer — read only',
};
