import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
	path: string;
	unmount(): void;
}

/**
 * A real, tiny filesystem (tmpfs) so "disk full" is the kernel's ENOSPC, not a simulation.
 * Needs root (CI runs as root); returns the reason instead when it cannot be had, so the
 * test can say it was skipped and why.
 */
export function mountSmallDisk(bytes: number): SmallDisk | string {
	const path = mkdtempSync(join(tmpdir(), 'totvs-small-disk-'));
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0777`, 'tmpfs', path], { stdio: 'pipe' });
	} catch (error) {
		rmSync(path, { recursive: true, force: true });
		return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); run as root to test a real full disk`;
	}
	return {
		path,
		unmount() {
			execFileSync('umount', [path]);
			rmSync(path, { recursive: true, force: true });
		},
	};
}
