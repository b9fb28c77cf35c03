/**
 * Reads what the Monitor judges from the destinations, read-only: per environment the set
 * catalog (folder listings and manifests, never an artifact), one listing of the environment
 * folder for the restore-test records (content of the newest few only) and the lock file. It
 * never takes the lock, never writes, never deletes. Requests per environment: those of
 * listRemoteSets (one listing per set folder and one manifest read per set) plus a constant
 * (measured in test/integration/monitor/request-count.test.ts).
 *
 * A destination that cannot be opened or listed becomes a reading with `error` (a critical
 * reason naming it), never an exception: one dead SFTP server must not hide the others.
 */
import { ENVIRONMENT } from '../backup-set/ids';
import type { Destination } from '../destinations';
import { lockPath } from '../locking/environment-lock';
import { silentLogger, type Logger } from '../logger';
import { listRestoreRecords } from '../restore-record';
import { listRemoteSets } from '../upload/remote-catalog';
import { DEFAULT_THRESHOLDS, type DestinationReading, type EnvironmentReading, type LockReading } from './types';

const MAX_LOCK_BYTES = 64 * 1024;

export interface ReadOptions {
	/** Environments to read; empty or absent: every environment folder that holds something of ours. */
	environments?: string[];
	/** How many of the newest restore-test records to read the content of (RTO trend). Default 10. */
	recordsToRead?: number;
	logger?: Logger;
}

/** What to read: a name for messages until it is open, and how to open it. */
export interface MonitorTarget {
	label: string;
	open(): Destination | Promise<Destination>;
}

/** Reads every target in parallel (each one's requests in sequence), and closes what it opened. */
export async function readDestinations(
	targets: MonitorTarget[],
	options: ReadOptions = {},
): Promise<DestinationReading[]> {
	return Promise.all(
		targets.map(async (target) => {
			let destination: Destination | undefined;
			try {
				destination = await target.open();
			} catch (error) {
				return { destination: target.label, error: messageOf(error), environments: [] };
			}
			try {
				return await readDestination(destination, options);
			} finally {
				await destination.close().catch(() => undefined);
			}
		}),
	);
}

/** One destination's readings; an error listing it is returned as `error`, not thrown. */
export async function readDestination(target: Destination, options: ReadOptions = {}): Promise<DestinationReading> {
	const logger = options.logger ?? silentLogger;
	const { destination, requests } = counted(target);
	const where = target.describe();
	const named = [...new Set((options.environments ?? []).map((e) => e.trim()).filter(Boolean))];
	let environments: string[];
	try {
		environments = named.length
			? named
			: (await destination.list(''))
					.filter((e) => e.isFolder && ENVIRONMENT.test(e.name))
					.map((e) => e.name)
					.sort();
	} catch (error) {
		logger.warn(`TOTVS Monitor: cannot list ${where}: ${messageOf(error)}`);
		return { destination: where, error: messageOf(error), environments: [], requests: requests() };
	}
	const readings: EnvironmentReading[] = [];
	for (const environment of environments) {
		if (!ENVIRONMENT.test(environment)) {
			readings.push(failed(environment, `"${environment}" is not an environment name`));
			continue;
		}
		try {
			const reading = await readEnvironment(destination, environment, options.recordsToRead);
			// Discovered folders count only when something of ours is in them (not a DBA's scripts folder).
			if (named.length || hasAnything(reading)) readings.push(reading);
		} catch (error) {
			logger.warn(`TOTVS Monitor: cannot read ${environment} on ${where}: ${messageOf(error)}`);
			readings.push(failed(environment, messageOf(error)));
		}
	}
	logger.info(`TOTVS Monitor read ${where}: ${readings.length} environments, ${requests()} requests`);
	return { destination: where, environments: readings, requests: requests() };
}

async function readEnvironment(
	destination: Destination,
	environment: string,
	recordsToRead = DEFAULT_THRESHOLDS.trendLength,
): Promise<EnvironmentReading> {
	const catalog = await listRemoteSets(destination, environment);
	const records = await listRestoreRecords(destination, environment, { read: recordsToRead });
	return {
		environment,
		sets: catalog.sets.map((s) => ({
			backupId: s.backupId,
			engine: s.manifest.engine,
			component: s.manifest.component,
			type: s.manifest.type,
			baseBackupId: s.manifest.baseBackupId,
			parentBackupId: s.manifest.parentBackupId,
			startedAt: s.manifest.startedAt,
			finishedAt: s.manifest.finishedAt,
			bytes: s.bytes,
			complete: s.remoteStatus === 'complete',
			...(s.problem ? { problem: s.problem } : {}),
		})),
		unfinished: catalog.unfinished.map((u) => ({
			backupId: u.backupId,
			modifiedAt: u.modifiedAt.toISOString(),
			bytes: u.bytes,
		})),
		invalid: catalog.invalid.map((i) => ({
			backupId: i.folder.slice(i.folder.lastIndexOf('/') + 1),
			reason: i.reason,
		})),
		restoreTests: records.map((r) => ({
			fileName: r.fileName,
			testedId: r.testedId,
			finishedAt: r.record?.finishedAt ?? r.finishedAt,
			passed: r.outcome === 'passed',
			...(r.record
				? { rtoMs: r.record.rtoMs, restoreMs: r.record.restoreMs, restoredBytes: r.record.restoredBytes }
				: {}),
			...(r.invalid ? { invalid: r.invalid } : {}),
		})),
		lock: await readLock(destination, environment),
	};
}

/** The lock as it is, parsed without the locking module's private parser: the Monitor never acts on it. */
async function readLock(destination: Destination, environment: string): Promise<LockReading | null> {
	const path = lockPath(environment);
	let content: Buffer | null;
	try {
		content = await destination.readSmallFile(path, MAX_LOCK_BYTES);
	} catch (error) {
		// Released between the stat and the read of a small-file read: no lock.
		if ((await destination.stat(path).catch(() => 'unknown')) === null) return null;
		throw error;
	}
	if (!content) return null;
	try {
		const lock = JSON.parse(content.toString('utf8')) as {
			format?: unknown;
			owner?: { hostname?: unknown; pid?: unknown; executionId?: unknown };
			purpose?: unknown;
			acquiredAt?: unknown;
			renewedAt?: unknown;
			staleAfterMs?: unknown;
		};
		if (
			lock?.format !== 1 ||
			typeof lock.renewedAt !== 'string' ||
			Number.isNaN(Date.parse(lock.renewedAt)) ||
			typeof lock.staleAfterMs !== 'number'
		)
			return { state: 'unreadable' };
		const owner = lock.owner ?? {};
		return {
			state: 'present',
			owner: `${String(owner.hostname ?? '?')} (pid ${String(owner.pid ?? '?')}${owner.executionId ? `, execution ${String(owner.executionId)}` : ''})`,
			purpose: String(lock.purpose ?? '?'),
			...(typeof lock.acquiredAt === 'string' ? { acquiredAt: lock.acquiredAt } : {}),
			renewedAt: lock.renewedAt,
			staleAfterMs: lock.staleAfterMs,
		};
	} catch {
		return { state: 'unreadable' };
	}
}

function hasAnything(reading: EnvironmentReading): boolean {
	return (
		reading.sets.length > 0 ||
		reading.unfinished.length > 0 ||
		reading.invalid.length > 0 ||
		reading.restoreTests.length > 0
	);
}

function failed(environment: string, error: string): EnvironmentReading {
	return { environment, error, sets: [], unfinished: [], invalid: [], restoreTests: [], lock: null };
}

function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Counts the calls made through the Destination interface (every one is at least one request). */
function counted(target: Destination): { destination: Destination; requests: () => number } {
	let calls = 0;
	const destination = new Proxy(target, {
		get(object, property, receiver) {
			const value = Reflect.get(object, property, receiver);
			if (typeof value !== 'function' || property === 'describe') return value;
			return (...args: unknown[]) => {
				calls++;
				return value.apply(object, args);
			};
		},
	});
	return { destination, requests: () => calls };
}
