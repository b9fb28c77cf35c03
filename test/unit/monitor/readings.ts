/** Builders of Monitor readings for the unit tests: a history in a few lines, one field changed at a time. */
import type { BackupType } from '../../../core/backup-set/ids';
import { makeBackupId } from '../../../core/backup-set/ids';
import type { DestinationReading, EnvironmentReading, RestoreTestReading, SetReading } from '../../../core/monitor';

export const NOW = new Date('2026-11-26T12:00:00.000Z');
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

export const ago = (ms: number) => new Date(NOW.getTime() - ms);

export function set(
	type: BackupType,
	at: Date,
	overrides: Partial<SetReading> & { base?: SetReading } = {},
): SetReading {
	const { base, ...rest } = overrides;
	const engine = rest.engine ?? 'postgres';
	const component = engine === 'protheus-files' ? 'files' : 'database';
	const backupId = makeBackupId('prod', type, component, at);
	return {
		backupId,
		engine,
		component,
		type,
		baseBackupId: base ? (base.baseBackupId ?? base.backupId) : null,
		parentBackupId: base ? base.backupId : null,
		startedAt: at.toISOString(),
		finishedAt: new Date(at.getTime() + 60_000).toISOString(),
		bytes: 1000,
		complete: true,
		...rest,
	};
}

let recordCounter = 0;
export function restoreTest(
	testedId: string,
	at: Date,
	passed: boolean,
	rtoMs?: number,
	overrides: Partial<RestoreTestReading> = {},
): RestoreTestReading {
	const id = (++recordCounter).toString(16).padStart(8, '0');
	return {
		fileName: `${testedId}.restore-test-${at.toISOString()}-${passed ? 'passed' : 'failed'}-${id}.json`,
		testedId,
		finishedAt: at.toISOString(),
		passed,
		...(rtoMs !== undefined ? { rtoMs, restoreMs: rtoMs, restoredBytes: 1 } : {}),
		...overrides,
	};
}

export function env(overrides: Partial<EnvironmentReading> = {}): EnvironmentReading {
	return {
		environment: 'prod',
		sets: [],
		unfinished: [],
		invalid: [],
		restoreTests: [],
		lock: null,
		...overrides,
	};
}

export function destination(name: string, environments: EnvironmentReading[], error?: string): DestinationReading {
	return { destination: name, environments, ...(error ? { error } : {}) };
}

/** A healthy environment: a full 2 h old, a restore test of it that passed 1 h ago. */
export function healthy(): EnvironmentReading {
	const full = set('full', ago(2 * HOUR));
	return env({ sets: [full], restoreTests: [restoreTest(full.backupId, ago(HOUR), true, 5 * 60_000)] });
}
