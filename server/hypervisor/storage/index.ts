// Storage pools: import from '@/server/hypervisor/storage'.
export { VOLUME_ID_PATTERN, type PoolVolume, type StoragePoolBackend, type StoragePoolKind } from './types';
export { DirectoryPool, openStoragePool, type StoragePoolConfig } from './directory';
