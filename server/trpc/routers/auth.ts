import { signUp } from '../../accounts/users';
import { signUpInput } from '../../accounts/validation';
import { getSetting } from '../../settings';
import { publicProcedure, router } from '../init';

export const authRouter = router({
  /** Whether self sign-up is open, so the sign-up page can say so before anyone types. */
  signUpStatus: publicProcedure.query(async ({ ctx }) => ({ enabled: await getSetting(ctx.db, 'signupEnabled') })),
  signUp: publicProcedure
    .input(signUpInput)
    .mutation(async ({ ctx, input }) => {
      const { user, tenant } = await signUp(ctx.db, ctx.requestId, input);
      return { user, tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name } };
    }),
});
