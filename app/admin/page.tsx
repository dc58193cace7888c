import type { Metadata } from 'next';
import Link from 'next/link';
import { RevenueTable } from '@/components/admin/revenue-table';
import { SignupSetting } from '@/components/admin/signup-setting';
import { Card, PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Admin' };

export default function AdminPage() {
  return (
    <>
      <PageHeader title="Administration" description="Run the cloud: who gets how much, what runs where, and what happened." />
      <nav aria-label="Administration" className="mb-6">
        <ul className="flex flex-wrap gap-2">
          {[
            ['/admin/tenants', 'Tenants'],
            ['/admin/users', 'Users'],
            ['/admin/quotas', 'Quotas'],
            ['/admin/quota-requests', 'Quota requests'],
            ['/admin/instances', 'All instances'],
            ['/admin/hosts', 'Hosts'],
            ['/admin/storage', 'Storage'],
            ['/admin/networks', 'Networks'],
            ['/admin/flavors', 'Flavors'],
            ['/admin/images', 'Images'],
            ['/admin/prices', 'Prices'],
            ['/admin/audit', 'Audit log'],
          ].map(([href, label]) => (
            <li key={href}>
              <Link href={href!} className="block rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-sky-800 hover:bg-slate-50">
                {label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="grid gap-6 md:grid-cols-2">
        <Card title="Sign-up">
          <SignupSetting />
        </Card>
        <Card title="Prices" description="What each vCPU, GiB of memory, GiB of disk and NIC costs per hour. Changes apply from now on; past usage keeps its prices.">
          <Link href="/admin/prices" className="font-medium text-sky-700 underline">
            Open the price book
          </Link>
        </Card>
        <Card title="Revenue" description="What each tenant's usage comes to in a month, at the prices in force.">
          <RevenueTable />
        </Card>
      </div>
    </>
  );
}
