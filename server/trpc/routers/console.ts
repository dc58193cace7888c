import { z } from 'zod';
import { issueTicket } from '../../console/tickets';
import { instanceIdSchema } from '../../instances/validation';
import { router, tenantProcedure } from '../init';

export const consoleRouter = router({
  /** Viewers may watch the list, not use a console: members and owners only. */
  ticket: tenantProcedure
    .meta({ minRole: 'member' })
    .input(z.object({ instanceId: instanceIdSchema, kind: z.enum(['vnc', 'serial']).default('vnc') }))
    .mutation(({ ctx, input }) => issueTicket(ctx.db, ctx.actor, ctx.tenant.id, input)),
});
