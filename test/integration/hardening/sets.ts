/**
 * Small helpers for the set-level hardening tests: sets with real manifests (fake dump bytes),
 * a local-folder destination, and backdating a folder tree as if it had been left days ago.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BackupType } from '../../../core/backup-set/manifest';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import type { RetentionPolicy } from '../../../core/retention/retention';
import { sampleManifest } from '../../fixtures/manifest';

/** The node's defaults: what a "default Prune" runs with. */
export const defaultPolicy: RetentionPolicy = {
	keepLast: 7,
	keepDaily: 7,
	keepWeekly: 4,
	keepMonthly: 12,
	keepYearly: 0,
	minimumAgeDays: 0,
	unfinishedAfterHours: 24,
};

/** A complete set in `root` with `files` small artifacts (nested under `archive/` when more than one). */
export async function syntheticSet(
	root: string,
	at: Date,
	options: { type?: BackupType; files?: number; base?: string | null; parent?: string | null } = {},
): Promise<{ folder: string; backupId: string }> {
	const type = options.type ?? 'full';
	const set = await BackupSetWriter.create(root, 'prod', type, 'database', at);
	const count = options.files ?? 1;
	for (let i = 0; i < count; i++) {
		const path = count === 1 ? 'protheus.dump' : `archive/${1000 + i}.dat.gz`;
		await set.writeArtifact(
			path,
			count === 1 ? 'pg_dump-custom' : 'pg_dump-directory',
			Readable.from([randomBytes(16)]),
		);
	}
	await set.commit(
		sampleManifest({
			backupId: set.backupId,
			type,
			baseBackupId: options.base ?? null,
			parentBackupId: options.parent ?? null,
			startedAt: at.toISOString(),
			finishedAt: at.toISOString(),
			artifacts: set.artifacts,
			...(count > 1 ? { options: { format: 'directory' } } : {}),
		}),
	);
	return { folder: set.folder, backupId: set.backupId };
}

/** Sets every file's and folder's times under `folder` (itself included) to `hoursAgo` hours ago. */
export function backdate(folder: string, hoursAgo: number): void {
	const when = new Date(Date.now() - hoursAgo * 3_600_000);
	const walk = (path: string) => {
		if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
		utimesSync(path, when, when); // after the children: touching them does not change a folder's time
	};
	walk(folder);
}
