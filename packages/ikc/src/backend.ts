// Where task_diag's ALL/ALL_THREAD dumps read tasks: the `backend` choice of
// TaskDiagOptions as `flags` bits, and which backend a choice resolves to here.
import { native } from './binding.js';
import { IkcError, wrap } from './errors.js';

export type BackendName = 'auto' | 'procfs' | 'bpf';

/** The `flags` bits for a backend choice. */
export function backendFlags(backend: BackendName = 'auto'): number {
  switch (backend) {
    case 'auto':
      return 0;
    case 'procfs':
      return native.FLAG_BACKEND_PROCFS;
    case 'bpf':
      return native.FLAG_BACKEND_BPF;
    default:
      throw new IkcError('EINVAL', `EINVAL: unknown backend '${String(backend)}' (auto, procfs, bpf)`);
  }
}

/** The backend a dump issued in this process with this choice would use ('procfs' or 'bpf'). */
export function backendInUse(backend: BackendName = 'auto'): 'procfs' | 'bpf' {
  return wrap(() => native.backendInUse(backendFlags(backend))) as 'procfs' | 'bpf';
}
