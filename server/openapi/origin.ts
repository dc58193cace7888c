/** Where clients reach this Cirrus: CIRRUS_PUBLIC_URL when set (behind a proxy), else the origin the request came to. */
export function publicOrigin(req: Request): string {
  const configured = process.env.CIRRUS_PUBLIC_URL;
  if (configured) {
    try {
      return new URL(configured).origin;
    } catch {
      /* fall through to the request's own origin */
    }
  }
  return new URL(req.url).origin;
}
