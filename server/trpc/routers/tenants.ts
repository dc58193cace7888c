import { z } from 'zod';
import { emailSchema } from '../../accounts/validation';
import { addMember, listMembers, removeMember, setMemberRole } from '../../tenants/members';
import { roles } from '../../tenants/roles';
import { createTenant, listTenantsForUser, tenantNameSchema } from '../../tenants/tenants';
import { authedProcedure, router, tenantProcedure } from '../init';

const role = z.enum(roles, 'Choose owner, member or viewer.');

const membersRouter = router({
  list: tenantProcedure.query(({ ctx }) => listMembers(ctx.db, ctx.tenant.id)),
  add: tenantProcedure
    .meta({ minRole: 'owner' })
    .input(z.object({ email: emailSchema, role }))
    .mutation(({ ctx, input }) => addMember(ctx.db, ctx.actor, ctx.tenant.id, input)),
  setRole: tenantProcedure
    .meta({ minRole: 'owner' })
    .input(z.object({ userId: z.uuid(), role }))
    .mutation(({ ctx, input }) => setMemberRole(ctx.db, ctx.actor, ctx.tenant.id, input)),
  remove: tenantProcedure
    .meta({ minRole: 'owner' })
    .input(z.object({ userId: z.uuid() }))
    .mutation(({ ctx, input }) => removeMember(ctx.db, ctx.actor, ctx.tenant.id, input)),
});

export const tenantsRouter = router({
  list: authedProcedure.query(({ ctx }) => listTenantsForUser(ctx.db, ctx.user.id)),
  create: authedProcedure
    .input(z.object({ name: tenantNameSchema }))
    .mutation(({ ctx, input }) => createTenant(ctx.db, ctx.actor, input)),
  members: membersRouter,
});
