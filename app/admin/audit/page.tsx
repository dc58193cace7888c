import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { AuditLog } from '@/components/admin/audit/audit-log';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Audit log' };

export default function AdminAuditPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader title="Audit log" description="Who did what, where and when, across every tenant — refusals and failures included." />
      <AuditLog />
    </>
  );
}
