/** Where clients reach this Cirrus: CIRRUS_PUBLIC_URL when set (behind a proxy), else the host the request was sent to. */
export function publicOrigin(req: Request): string {
  const configured = process.env.CIRRUS_PUBLIC_URL;
  if (configured) {
    try {
      return new URL(configured).origin;
    } catch {
      /* fall through to the request's own origin */
    }
  }
  // The Host the client used (Next's request URL may name the listening interface instead).
  const host = req.headers.get('host');
  const proto = req.headers.get('x-forwarded-proto') === 'https' ? 'https' : new URL(req.url).protocol.replace(':', '');
  return host && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? `${proto}://${host}` : new URL(req.url).origin;
}
