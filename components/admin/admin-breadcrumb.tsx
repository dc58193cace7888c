import Link from 'next/link';

/** The way back to the admin home, above each admin page. */
export function AdminBreadcrumb() {
  return (
    <nav aria-label="Breadcrumb" className="mb-2 text-sm">
      <Link href="/admin" className="text-sky-800 hover:underline">
        ← Administration
      </Link>
    </nav>
  );
}
