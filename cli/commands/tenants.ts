// cirrus tenants ls · cirrus images ls · cirrus flavors ls: what a launch can name.
import type { Command } from 'commander';
import type { App } from '../app';
import { formatTable } from '../output';

export function registerTenants(program: Command, app: App): void {
  program
    .command('tenants')
    .description('the tenants you belong to')
    .command('ls')
    .description('list your tenants (* marks the one commands act in by default)')
    .action(async () => {
      const tenants = await app.api().tenants.list.query();
      const chosen = program.opts<{ tenant?: string }>().tenant ?? app.credentials().tenant ?? (tenants.length === 1 ? tenants[0]!.slug : null);
      app.print(tenants, () =>
        formatTable(tenants, [
          { header: '', value: (t) => (t.slug === chosen || t.id === chosen ? '*' : ' ') },
          { header: 'SLUG', value: (t) => t.slug },
          { header: 'NAME', value: (t) => t.name },
          { header: 'ROLE', value: (t) => t.role },
          { header: 'STATUS', value: (t) => (t.suspendedAt ? 'suspended' : 'active'), color: (t) => (t.suspendedAt ? 'red' : null) },
        ], { color: app.color }),
      );
    });

  program
    .command('images')
    .description('the images you can launch')
    .command('ls')
    .description('list the images the tenant can launch')
    .action(async () => {
      const images = await app.api().images.list.query({ tenantId: (await app.tenant()).id });
      app.print(images, () =>
        formatTable(images, [
          { header: 'ID', value: (i) => i.id },
          { header: 'NAME', value: (i) => i.name },
          { header: 'OS', value: (i) => [i.osFamily, i.osVersion].filter(Boolean).join(' ') },
          { header: 'LOGIN', value: (i) => i.loginUser },
          { header: 'MIN MEMORY', value: (i) => `${i.minMemoryMiB} MiB`, align: 'right' },
          { header: 'MIN DISK', value: (i) => `${i.minDiskGiB} GiB`, align: 'right' },
        ]),
      );
    });

  program
    .command('flavors')
    .description('the launch sizes')
    .command('ls')
    .description('list the flavors (launch sizes) for --flavor')
    .action(async () => {
      const flavors = await app.api().flavors.list.query({ tenantId: (await app.tenant()).id });
      app.print(flavors, () =>
        formatTable(flavors, [
          { header: 'NAME', value: (f) => f.name },
          { header: 'VCPUS', value: (f) => f.vcpus, align: 'right' },
          { header: 'MEMORY', value: (f) => `${f.memoryMiB} MiB`, align: 'right' },
          { header: 'DISK', value: (f) => `${f.diskGiB} GiB`, align: 'right' },
          { header: 'NICS', value: (f) => f.nics, align: 'right' },
        ]),
      );
    });
}
