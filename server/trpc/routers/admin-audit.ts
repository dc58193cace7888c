import { auditListInput, listAudit } from '../../audit/query';
import { adminProcedure, router } from '../init';

/** The platform audit log, for administrators (wired in as `admin.audit`). */
export const adminAuditRouter = router({
  list: adminProcedure.input(auditListInput).query(({ ctx, input }) => listAudit(ctx.db, input)),
});
