/**
 * One lock per environment on a destination, so two executions (two n8n queue-mode workers, or
 * a manual run during the scheduled one) never upload to or prune the same environment at once.
 *
 * The lock is a small JSON object at `<environment>/.totvs-lock.json` on the destination itself
 * (a worker's memory is not shared), created with the destination's create-if-absent primitive.
 * Its holder renews it while working; a lock not renewed for `staleAfterMs` belongs to an
 * execution that died and is taken over — at once when its owner provably ran on this machine
 * (same host name, boot and pid namespace) and its pid no longer runs (see ownerIsGone):
 *   1. the taker creates a takeover marker named after the stale lock's token, exclusively, so
 *      only one of several takers proceeds for that stale lock;
 *   2. it re-reads the lock and proceeds only if it is still the same, still stale lock;
 *   3. it removes it and creates its own with create-if-absent: a newcomer that slipped in
 *      between simply wins, and the taker reports LOCKED.
 * A holder that has itself not renewed for most of the stale period (a paused VM, a long GC)
 * does not renew blindly: it reports LOCK_LOST, because someone may have taken over.
 *
 * Renewal and release go through the same exclusive step as a takeover: the holder creates the
 * takeover marker of its own lock first, so no taker can remove and replace the lock between the
 * holder's check ("still mine") and its write (renewal) or removal (release). A holder that
 * cannot get that marker is being taken over: it reports LOCK_LOST and writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { rm, writeFile, mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination } from '../destinations';
import { BackupError, systemErrorCode } from '../errors';
import { formatDuration } from '../format';
import { silentLogger, type Logger } from '../logger';

export const LOCK_FILE = '.totvs-lock.json';
const MAX_LOCK_BYTES = 64 * 1024;

export interface LockOwner {
	hostname: string;
	pid: number;
	/** The n8n execution id, when there is one. */
	executionId?: string;
	/**
	 * Linux: the boot and the pid namespace `pid` belongs to. With the host name they prove that a
	 * later run can look the pid up (two containers may share a host name, not a pid namespace).
	 */
	bootId?: string;
	pidNamespace?: string;
}

export interface LockRecord {
	format: 1;
	environment: string;
	owner: LockOwner;
	/** Unique per acquisition: tells this holder from a later one with the same owner. */
	token: string;
	/** What the holder is doing: 'upload', 'prune'. */
	purpose: string;
	acquiredAt: string;
	renewedAt: string;
	staleAfterMs: number;
}

export interface LockOptions {
	purpose: string;
	/** A lock not renewed for this long is taken over. Default 10 minutes. */
	staleAfterMs?: number;
	/** Renewal period while held. Default a quarter of staleAfterMs. */
	renewEveryMs?: number;
	/** How long to wait for a held lock before failing with LOCKED. Default 0 (fail at once). */
	waitMs?: number;
	/** Poll period while waiting. Default 2 s. */
	pollMs?: number;
	now?: () => Date;
	/** Where the wait (naming the holder) and a takeover are reported. */
	logger?: Logger;
}

/** This process's boot and pid namespace (Linux); undefined fields elsewhere, and then no pid is judged. */
const here: { bootId?: string; pidNamespace?: string } = (() => {
	const read = (f: () => string) => {
		try {
			return f().trim() || undefined;
		} catch {
			return undefined;
		}
	};
	return {
		bootId: read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
		pidNamespace: read(() => readlinkSync('/proc/self/ns/pid')),
	};
})();

export const currentOwner = (executionId?: string): LockOwner => ({
	hostname: hostname(),
	pid: process.pid,
	...(executionId ? { executionId } : {}),
	...(here.bootId ? { bootId: here.bootId } : {}),
	...(here.pidNamespace ? { pidNamespace: here.pidNamespace } : {}),
});

/**
 * true only when the owner provably ran in this machine's current boot and pid namespace, and
 * its pid no longer runs (a worker killed with SIGKILL). Anything unknown, another host, or a
 * pid that runs (even one reused by another program) is false: the stale timeout applies.
 */
export function ownerIsGone(owner: LockOwner): boolean {
	if (!here.bootId || !here.pidNamespace) return false;
	if (owner.hostname !== hostname() || owner.bootId !== here.bootId || owner.pidNamespace !== here.pidNamespace)
		return false;
	if (!Number.isInteger(owner.pid) || owner.pid <= 0 || owner.pid === process.pid) return false;
	try {
		process.kill(owner.pid, 0); // signal 0: only asks whether the pid exists
		return false;
	} catch (error) {
		return systemErrorCode(error) === 'ESRCH'; // EPERM: it runs, as another user
	}
}

export const lockPath = (environment: string) => `${environment}/${LOCK_FILE}`;

const describeOwner = (owner: LockOwner) =>
	`${owner.hostname} (pid ${owner.pid}${owner.executionId ? `, execution ${owner.executionId}` : ''})`;

export class EnvironmentLock {
	private renewTimer?: NodeJS.Timeout;
	private renewing?: Promise<void>;
	private lost?: BackupError;
	private released = false;
	/** How long acquire() took, waiting for another holder included: not part of the work's duration. */
	waitedMs = 0;

	private constructor(
		private readonly destination: Destination,
		private record: LockRecord,
		private readonly options: Required<Pick<LockOptions, 'staleAfterMs' | 'renewEveryMs'>> & { now: () => Date },
	) {}

	get holder(): LockRecord {
		return this.record;
	}

	/** Acquires the lock, waiting up to `waitMs` for a live holder; throws LOCKED naming it. */
	static async acquire(
		destination: Destination,
		environment: string,
		owner: LockOwner,
		options: LockOptions,
	): Promise<EnvironmentLock> {
		const staleAfterMs = options.staleAfterMs ?? 10 * 60_000;
		const settings = {
			staleAfterMs,
			renewEveryMs: options.renewEveryMs ?? Math.max(1000, Math.floor(staleAfterMs / 4)),
			now: options.now ?? (() => new Date()),
		};
		const logger = options.logger ?? silentLogger;
		const started = Date.now();
		const deadline = started + (options.waitMs ?? 0);
		let announced: string | undefined;
		for (let vanished = 0; ;) {
			const now = settings.now().toISOString();
			const record: LockRecord = {
				format: 1,
				environment,
				owner,
				token: randomBytes(12).toString('hex'),
				purpose: options.purpose,
				acquiredAt: now,
				renewedAt: now,
				staleAfterMs,
			};
			const holder = await tryAcquire(destination, record, settings.now, logger);
			if (holder === 'acquired') {
				const lock = new EnvironmentLock(destination, record, settings);
				lock.waitedMs = Date.now() - started;
				lock.startRenewing();
				return lock;
			}
			// Released between our attempt and our read: try again at once (a few times).
			if (holder === undefined && ++vanished < 5) continue;
			if (Date.now() >= deadline) throw lockedError(destination, environment, holder, settings.now());
			if (isRecord(holder) && holder.token !== announced) {
				announced = holder.token;
				logger.info(
					`${describeHolder(destination, environment, holder, settings.now())}; waiting up to ${formatDuration(deadline - Date.now())} for it`,
				);
			}
			await new Promise((resolve) =>
				setTimeout(resolve, Math.min(options.pollMs ?? 2000, Math.max(0, deadline - Date.now()))),
			);
		}
	}

	/** Throws LOCK_LOST when the lock is no longer this holder's: call before anything irreversible. */
	async assertHeld(): Promise<void> {
		if (this.lost) throw this.lost;
		await this.renewing;
		await this.checkHeld();
	}

	private async checkHeld(): Promise<void> {
		if (this.lost) throw this.lost;
		const current = await readLock(this.destination, this.record.environment);
		if (current === 'unreadable' || current?.token !== this.record.token) {
			this.lost = lockLostError(this.destination, this.record, current === 'unreadable' ? undefined : current);
			throw this.lost;
		}
	}

	/** Rewrites the lock with a new renewedAt, guarded against a concurrent takeover (see the top). */
	async renew(): Promise<void> {
		if (this.lost) throw this.lost;
		const now = this.options.now();
		// Too long since our last renewal: another execution may already consider us dead.
		if (now.getTime() - Date.parse(this.record.renewedAt) > this.options.staleAfterMs * 0.75) {
			this.lost = lockLostError(this.destination, this.record);
			throw this.lost;
		}
		const next = { ...this.record, renewedAt: now.toISOString() };
		// The marker holds the renewed record: a taker reading it sees a live holder and backs off.
		const guarded = await guard(this.destination, this.record, JSON.stringify(next), this.options.now, async () => {
			await this.checkHeld();
			await writeLock(this.destination, next);
		});
		if (!guarded) {
			const current = await readLock(this.destination, this.record.environment).catch(() => undefined);
			this.lost = lockLostError(this.destination, this.record, isRecord(current) ? current : undefined);
			throw this.lost;
		}
		this.record = next;
	}

	/** Removes the lock if it is still ours, never a lock someone took over meanwhile. Safe to call twice. */
	async release(): Promise<void> {
		if (this.released) return;
		this.released = true;
		clearInterval(this.renewTimer);
		await this.renewing?.catch(() => undefined);
		// Not guarded: a taker is replacing it, so it is not ours to remove.
		await guard(this.destination, this.record, JSON.stringify(this.record), this.options.now, async () => {
			const current = await readLock(this.destination, this.record.environment);
			if (isRecord(current) && current.token === this.record.token)
				await this.destination.remove(lockPath(this.record.environment));
		});
	}

	private startRenewing() {
		this.renewTimer = setInterval(() => {
			if (this.renewing) return;
			this.renewing = this.renew()
				.catch((error) => {
					if (!this.lost)
						this.lost = error instanceof BackupError ? error : lockLostError(this.destination, this.record);
				})
				.finally(() => (this.renewing = undefined));
		}, this.options.renewEveryMs);
		this.renewTimer.unref();
	}
}

/** Runs `work` holding the environment's lock, and releases it however `work` ends. */
export async function withEnvironmentLock<T>(
	destination: Destination,
	environment: string,
	owner: LockOwner,
	options: LockOptions,
	work: (lock: EnvironmentLock) => Promise<T>,
): Promise<T> {
	const lock = await EnvironmentLock.acquire(destination, environment, owner, options);
	try {
		const result = await work(lock);
		await lock.assertHeld();
		return result;
	} finally {
		await lock.release().catch(() => undefined);
	}
}

/** 'acquired', or the live holder (undefined when it vanished meanwhile, 'unreadable' when garbled). */
async function tryAcquire(
	destination: Destination,
	record: LockRecord,
	now: () => Date,
	logger: Logger,
): Promise<'acquired' | LockRecord | 'unreadable' | undefined> {
	const takeable = (lock: LockRecord) => isStale(lock, now()) || ownerIsGone(lock.owner);
	const path = lockPath(record.environment);
	if (await createIfAbsent(destination, path, JSON.stringify(record))) {
		// Backends without a server-side exclusive create decide races afterwards: confirm.
		const check = await readLock(destination, record.environment);
		return check !== 'unreadable' && check?.token === record.token ? 'acquired' : check;
	}
	const current = await readLock(destination, record.environment);
	if (current === undefined) return undefined; // released meanwhile: try again
	if (current === 'unreadable' || !takeable(current)) return current;

	const marker = takeoverMarker(current);
	if (!(await createIfAbsent(destination, marker, JSON.stringify(record)))) {
		// Another execution is taking over; if it died doing so, its marker is cleared after the stale period.
		const other = parseLock(await readSmall(destination, marker));
		if (isRecord(other) && takeable(other)) await destination.remove(marker);
		return current;
	}
	try {
		const again = await readLock(destination, record.environment);
		if (again === 'unreadable' || again?.token !== current.token || !takeable(again)) return again;
		logger.warn(
			`Taking over the lock of environment ${record.environment} on ${destination.describe()} from ${describeOwner(again.owner)}: ${isStale(again, now()) ? `not renewed for ${formatDuration(now().getTime() - Date.parse(again.renewedAt))}` : 'that process no longer runs on this machine'}`,
		);
		await destination.remove(path);
		if (await createIfAbsent(destination, path, JSON.stringify(record))) {
			const check = await readLock(destination, record.environment);
			return check !== 'unreadable' && check?.token === record.token ? 'acquired' : check;
		}
		return readLock(destination, record.environment);
	} finally {
		await destination.remove(marker).catch(() => undefined);
	}
}

/** Only one execution at a time may replace or remove the lock `record`: whoever creates this first. */
const takeoverMarker = (record: LockRecord) => `${lockPath(record.environment)}.takeover-${record.token}`;

const isRecord = (value: LockRecord | 'unreadable' | undefined): value is LockRecord =>
	value !== undefined && value !== 'unreadable';

/**
 * Runs `work` holding the takeover marker of the holder's own lock, so nobody can take the lock
 * over meanwhile. false when the marker stays held by someone else (a takeover in progress):
 * `work` did not run. A marker left by an execution that died is cleared once stale.
 */
async function guard(
	destination: Destination,
	mine: LockRecord,
	content: string,
	now: () => Date,
	work: () => Promise<void>,
): Promise<boolean> {
	const marker = takeoverMarker(mine);
	for (let attempt = 1; ; attempt++) {
		if (await createIfAbsent(destination, marker, content)) break;
		const other = parseLock(await readSmall(destination, marker));
		if (isRecord(other) && (isStale(other, now()) || ownerIsGone(other.owner))) await destination.remove(marker);
		// A taker that finds the lock alive gives the marker back within a few requests: wait a little.
		else if (attempt >= RACE_RETRIES) return false;
		else await shortPause();
	}
	try {
		await work();
		return true;
	} finally {
		await destination.remove(marker).catch(() => undefined);
	}
}

export function isStale(record: LockRecord, now: Date): boolean {
	return now.getTime() - Date.parse(record.renewedAt) > record.staleAfterMs;
}

async function readLock(destination: Destination, environment: string): Promise<LockRecord | 'unreadable' | undefined> {
	return parseLock(await readSmall(destination, lockPath(environment)));
}

/*
 * Lock files are created and removed by other executions all the time, and some servers report
 * an operation that raced such a change as a generic failure (an SFTP read of a file removed
 * after its stat, a hard link onto a name removed just after the link failed). These two look
 * again and retry a few times rather than fail the whole upload.
 */
const RACE_RETRIES = 5;
const shortPause = () => new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));

async function createIfAbsent(destination: Destination, path: string, content: string): Promise<boolean> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await destination.createExclusive(path, content);
		} catch (error) {
			if (attempt >= RACE_RETRIES) throw error;
			const now = await readSmall(destination, path);
			if (now) return now.toString('utf8') === content; // created after all (reply lost), or by someone else
			await shortPause();
		}
	}
}

async function readSmall(destination: Destination, path: string): Promise<Buffer | null> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await destination.readSmallFile(path, MAX_LOCK_BYTES);
		} catch (error) {
			if (attempt >= RACE_RETRIES) throw error;
			if (!(await destination.stat(path).catch(() => 'unknown'))) return null;
			await shortPause();
		}
	}
}

function parseLock(content: Buffer | null): LockRecord | 'unreadable' | undefined {
	if (!content) return undefined;
	try {
		const value = JSON.parse(content.toString('utf8')) as LockRecord;
		if (
			value?.format !== 1 ||
			typeof value.token !== 'string' ||
			typeof value.renewedAt !== 'string' ||
			!Number.isFinite(value.staleAfterMs)
		)
			return 'unreadable';
		return value;
	} catch {
		return 'unreadable';
	}
}

/** The Destination interface overwrites only through put(localFile): stage the JSON in a private temp file. */
async function writeLock(destination: Destination, record: LockRecord): Promise<void> {
	const folder = await mkdtemp(join(tmpdir(), 'totvs-lock-'));
	try {
		const file = join(folder, LOCK_FILE);
		await writeFile(file, JSON.stringify(record), { mode: 0o600 });
		await destination.put(file, lockPath(record.environment));
	} finally {
		await rm(folder, { recursive: true, force: true });
	}
}

function lockedError(
	destination: Destination,
	environment: string,
	holder: LockRecord | 'unreadable' | undefined,
	now: Date,
): BackupError {
	const where = `${destination.describe()}/${lockPath(environment)}`;
	if (holder === 'unreadable' || holder === undefined)
		return new BackupError(
			'LOCKED',
			`Environment ${environment} on ${destination.describe()} is locked, and the lock file ${where} cannot be read`,
			'If no other execution is uploading or pruning this environment, delete that lock file by hand and run again.',
		);
	return new BackupError(
		'LOCKED',
		describeHolder(destination, environment, holder, now),
		`Another execution is writing to this environment. Run again when it has finished (or raise "Wait for Lock"). If that execution died, its lock is taken over automatically: at once when it ran on this machine, otherwise once it has not been renewed for ${formatDuration(holder.staleAfterMs)}.`,
	);
}

function describeHolder(destination: Destination, environment: string, holder: LockRecord, now: Date): string {
	const age = formatDuration(now.getTime() - Date.parse(holder.renewedAt));
	return `Environment ${environment} on ${destination.describe()} is locked by ${describeOwner(holder.owner)} for ${holder.purpose} since ${holder.acquiredAt} (renewed ${age} ago)`;
}

function lockLostError(destination: Destination, mine: LockRecord, current?: LockRecord): BackupError {
	return new BackupError(
		'LOCK_LOST',
		`Lost the lock on environment ${mine.environment} at ${destination.describe()}${current ? `: it is now held by ${describeOwner(current.owner)}` : ''}`,
		"This execution stalled for longer than the lock's stale period and another one took over, so it stopped before changing anything more. Run it again; nothing complete was deleted and unfinished uploads resume.",
	);
}
