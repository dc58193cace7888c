import type { Metadata } from 'next';
import { PageHeader } from '@/components/ui/page';
import { VolumesPanel } from '@/components/volumes/volumes-panel';
import { currentPrices } from '@/server/billing/prices';
import { HOURS_PER_MONTH } from '@/server/billing/summary';
import { getDb } from '@/server/db/client';

export const metadata: Metadata = { title: 'Volumes' };

/** The tenant's block volumes. The volume prices in force are read here: the API has no tenant procedure for them. */
export default async function VolumesPage() {
  const p = await currentPrices(getDb());
  const prices = { currency: p.currency, volumeGiBHour: p.volumeGiBHour, volumeIopsHour: p.volumeIopsHour, volumeMbpsHour: p.volumeMbpsHour };
  return (
    <>
      <PageHeader title="Volumes" description="Disks of their own that instances attach, detach and leave behind with their data." />
      <VolumesPanel prices={prices} hoursPerMonth={HOURS_PER_MONTH} />
    </>
  );
}
