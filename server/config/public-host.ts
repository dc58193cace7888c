/**
 * The host name users reach this Cirrus at (from CIRRUS_PUBLIC_URL, which the
 * boot step also gives next-auth): where port forwards are reached from outside.
 */
export function publicHostName(): string {
  const url = process.env.CIRRUS_PUBLIC_URL ?? process.env.NEXTAUTH_URL ?? 'http://localhost';
  try {
    return new URL(url).hostname || 'localhost';
  } catch {
    return 'localhost';
  }
}
