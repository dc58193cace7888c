import type { RouterOutputs } from '@/server/trpc/root';

export type CatalogImage = RouterOutputs['images']['list'][number];

const FEATURE_LABELS: [keyof CatalogImage['features'], string][] = [
  ['cloudInit', 'cloud-init (key pairs, user data)'],
  ['guestAgent', 'guest agent'],
  ['hotplug', 'CPU and memory hotplug'],
];

type ImageSystem = Pick<CatalogImage, 'osFamily' | 'osVersion' | 'features'>;

/** "Debian 12", "Linux". */
export const osLabel = (image: ImageSystem) =>
  [image.osFamily === 'linux' ? 'Linux' : image.osFamily.charAt(0).toUpperCase() + image.osFamily.slice(1), image.osVersion].filter(Boolean).join(' ');

export const featureLabels = (image: ImageSystem) => FEATURE_LABELS.filter(([k]) => image.features[k]).map(([, label]) => label);

/** What an image is, for the launch form: OS, architecture, login user, minimum size, features. */
export function ImageFacts({ image }: { image: CatalogImage }) {
  const features = featureLabels(image);
  const os = osLabel(image);
  return (
    <dl aria-label={`About ${image.name}`} className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
      <dt className="text-slate-500">Operating system</dt>
      <dd>
        {os} · {image.architecture}
      </dd>
      <dt className="text-slate-500">Login user</dt>
      <dd>{image.loginUser ? <code>{image.loginUser}</code> : 'none (console only)'}</dd>
      <dt className="text-slate-500">Needs at least</dt>
      <dd>
        {image.minVcpus} vCPU{image.minVcpus === 1 ? '' : 's'}, {image.minMemoryMiB} MiB of memory, {image.minDiskGiB} GiB of disk
      </dd>
      <dt className="text-slate-500">Features</dt>
      <dd>{features.length ? features.join(', ') : 'none'}</dd>
    </dl>
  );
}
