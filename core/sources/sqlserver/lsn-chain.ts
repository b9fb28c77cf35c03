/**
 * Which backups restore together, decided from their LSNs alone (as SQL Server itself decides):
 * - a differential's base is the full whose CheckpointLSN equals the differential's
 *   DatabaseBackupLSN (copy-only fulls are never a base);
 * - log backups are contiguous: each FirstLSN equals the previous log's LastLSN;
 * - the first log after a full or differential must contain that backup's LastLSN
 *   (FirstLSN <= LastLSN(base) < LastLSN(log)), otherwise it is too early or too late.
 * LSNs are numeric(25,0): compared as BigInt, carried as decimal strings.
 */
import type { SqlServerBackupLsns } from '../../backup-set/sqlserver-manifest';
import { BackupError } from '../../errors';

export interface ChainMember {
	backupId: string;
	type: 'full' | 'differential' | 'log';
	copyOnly: boolean;
	lsn: SqlServerBackupLsns;
}

const big = (lsn: string) => BigInt(lsn);
export const lsnEquals = (a: string, b: string) => big(a) === big(b);

/** HEADERONLY/msdb values (string, bigint or number) as an LSN string; numbers only when exact. */
export function lsnText(value: unknown, what: string): string {
	if (typeof value === 'bigint') return value.toString();
	if (typeof value === 'string' && /^\d{1,25}$/.test(value.trim())) return BigInt(value.trim()).toString();
	if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
	throw new BackupError(
		'DUMP_FAILED',
		`${what} ${String(value)} is not an exact LSN (numeric(25,0) values above 2^53 lose digits as JavaScript numbers)`,
		'This is a bug in the SQL Server engine of n8n-nodes-totvs-backup: LSNs must be read as text (CAST … AS varchar). Please report it.',
	);
}

/**
 * True when a HEADERONLY value (read by the driver as a double) is the LSN recorded as text.
 * The driver rounds numeric(25,0) to the nearest double, so exact digits come from msdb and the
 * header can only confirm them to within a few units in the last place.
 */
export function headerLsnMatches(header: unknown, recorded: string): boolean {
	if (typeof header === 'string' || typeof header === 'bigint') return BigInt(header) === big(recorded);
	if (typeof header !== 'number') return false;
	const expected = Number(recorded);
	return Math.abs(expected - header) <= Math.abs(expected) * 4 * Number.EPSILON;
}

const describe = (m: ChainMember) => `${m.type} ${m.backupId} (LSN ${m.lsn.first}–${m.lsn.last})`;

/** The full a differential is based on, or a BACKUP_CHAIN_BROKEN error naming the missing LSN. */
export function differentialBase(diff: ChainMember, available: ChainMember[]): ChainMember {
	const base = available.find(
		(m) => m.type === 'full' && !m.copyOnly && lsnEquals(m.lsn.checkpoint, diff.lsn.databaseBackup),
	);
	if (!base)
		throw new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`Differential ${diff.backupId} is based on the full backup with checkpoint LSN ${diff.lsn.databaseBackup}, which is not among the ${available.filter((m) => m.type === 'full').length} full backup sets available`,
			'Keep (or fetch) the full set this differential was taken after; a differential cannot be restored without its own base. Take a new full backup to start a new chain.',
		);
	return base;
}

/** A full or differential from which `log` can continue: it contains that backup's LastLSN. */
const logContinues = (start: ChainMember, log: ChainMember) =>
	big(log.lsn.first) <= big(start.lsn.last) && big(start.lsn.last) < big(log.lsn.last);

/**
 * The sets to restore, in order, to reach `target`: a full, maybe a differential, then
 * contiguous logs. Chooses the shortest chain; throws BACKUP_CHAIN_BROKEN naming the gap.
 */
export function planRestoreChain(target: ChainMember, available: ChainMember[]): ChainMember[] {
	if (target.type === 'full') return [target];
	if (target.type === 'differential') return [differentialBase(target, available), target];

	const logs = [target];
	for (;;) {
		const earliest = logs[0];
		const start = restoreStartFor(earliest, available);
		if (start) return [...start, ...logs];
		const previous = available.find((m) => m.type === 'log' && lsnEquals(m.lsn.last, earliest.lsn.first));
		if (!previous)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`The log chain to ${target.backupId} is broken before ${describe(earliest)}: no log backup ends at LSN ${earliest.lsn.first}, and no full or differential backup is contained in it`,
				'Log backups must be restored without gaps. A log backup is missing (deleted, or taken by another tool such as a maintenance plan); take a new full backup to start a new chain.',
			);
		if (logs.includes(previous))
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Log backups around LSN ${previous.lsn.first} form a loop`,
				'The manifests were edited: make a new full backup.',
			);
		logs.unshift(previous);
	}
}

/** The newest full (+ its differential when one fits better) from which `log` continues. */
function restoreStartFor(log: ChainMember, available: ChainMember[]): ChainMember[] | undefined {
	const newestFirst = (a: ChainMember, b: ChainMember) =>
		big(b.lsn.last) > big(a.lsn.last) ? 1 : big(b.lsn.last) < big(a.lsn.last) ? -1 : 0;
	for (const diff of available.filter((m) => m.type === 'differential' && logContinues(m, log)).sort(newestFirst)) {
		try {
			return [differentialBase(diff, available), diff];
		} catch {
			// a differential without its base cannot start the chain; try the next candidate
		}
	}
	const full = available.filter((m) => m.type === 'full' && logContinues(m, log)).sort(newestFirst)[0];
	return full ? [full] : undefined;
}

/**
 * Checks an explicit sequence (as a restore will apply it): full first, at most one
 * differential of that full, then logs each continuing the previous backup.
 */
export function checkChainOrder(chain: ChainMember[]): void {
	const [first, ...rest] = chain;
	if (!first || first.type !== 'full')
		throw new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`A restore chain must start with a full backup, not ${first ? describe(first) : 'nothing'}`,
			'Choose a full backup set, or a set whose chain includes its full.',
		);
	let previous = first;
	for (const member of rest) {
		if (member.type === 'full')
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`A second full backup (${member.backupId}) in the middle of a restore chain`,
				'Restore one chain at a time.',
			);
		if (member.type === 'differential') {
			if (previous !== first || !lsnEquals(member.lsn.databaseBackup, first.lsn.checkpoint) || first.copyOnly)
				throw new BackupError(
					'BACKUP_CHAIN_BROKEN',
					`Differential ${member.backupId} (DatabaseBackupLSN ${member.lsn.databaseBackup}) does not follow its base: the chain starts with ${describe(first)}, checkpoint LSN ${first.lsn.checkpoint}`,
					'A differential restores only directly on top of the full it was taken after.',
				);
		} else if (
			previous.type === 'log' ? !lsnEquals(member.lsn.first, previous.lsn.last) : !logContinues(previous, member)
		) {
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Log backup ${member.backupId} starts at LSN ${member.lsn.first}, but the previous backup ${previous.backupId} ends at LSN ${previous.lsn.last}: the chain has a gap`,
				'A log backup between them is missing. Restore up to the last contiguous log, and take a new full backup to start a new chain.',
			);
		}
		previous = member;
	}
}
