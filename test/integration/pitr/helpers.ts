import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostgresInventory } from '../../../core/backup-set/manifest';
import type { BackupSetWriter } from '../../../core/backup-set/set-writer';
import type { PitrSetRecord } from '../../../core/sources/postgres-pitr';

/** A chain member from a set writer and what the engine returned (what a manifest will hold). */
export function pitrSet(
	set: BackupSetWriter,
	type: 'full' | 'incremental',
	outcome: Pick<PitrSetRecord, 'source' | 'pitr' | 'artifacts'> & { inventory?: PostgresInventory },
): PitrSetRecord {
	return {
		backupId: set.backupId,
		folder: set.folder,
		type,
		source: outcome.source,
		pitr: outcome.pitr,
		artifacts: outcome.artifacts,
		inventory: outcome.inventory,
	};
}

/**
 * A scratch root the restore test's unprivileged user can enter (mkdtemp makes 0700 folders;
 * the restore test makes its own 0700 folder inside, owned by that user).
 */
export function scratchRoot(): string {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-pitr-scratch-'));
	chmodSync(folder, 0o755);
	return folder;
}

/** Only to separate commit timestamps around a target time, never to wait for something. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
