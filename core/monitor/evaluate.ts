/**
 * The Monitor's judgement as a pure function: readings of every destination and "now" in, one
 * result per environment out (status, reasons, figures). Nothing here reads a destination or
 * the clock, so every rule and boundary is unit-tested (test/unit/monitor).
 *
 * A set is good on a destination when it is complete there and everything its restore needs
 * (its chain, back to the full) is good there too: a copy that cannot be restored on its own is
 * not a copy. Ages are measured from a set's start (the time of the data in it).
 */
import type { BackupType } from '../backup-set/ids';
import { dependencyOf } from '../retention/retention';
import { reasons } from './reasons';
import {
	DEFAULT_THRESHOLDS,
	RTO_JUMP_MIN_MS,
	type DestinationReading,
	type EnvironmentFigures,
	type EnvironmentReading,
	type EnvironmentResult,
	type MonitorInput,
	type MonitorReason,
	type MonitorStatus,
	type MonitorThresholds,
	type NewestSetFigure,
	type RestoreTestFigures,
	type RestoreTestReading,
	type SetReading,
	type SizeTrendFigure,
	type ChainFigure,
} from './types';

const TYPES: BackupType[] = ['full', 'differential', 'incremental', 'log'];
const SEVERITY_ORDER = { critical: 0, warning: 1 } as const;

/** The defaults with the given values over them; negative or non-numbers fall back to the default. */
export function resolveThresholds(given: MonitorInput['thresholds'] = {}): MonitorThresholds {
	const pick = (value: unknown, fallback: number) =>
		typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
	const maxAgeHours = { ...DEFAULT_THRESHOLDS.maxAgeHours };
	for (const type of TYPES) maxAgeHours[type] = pick(given.maxAgeHours?.[type], maxAgeHours[type]);
	return {
		maxAgeHours,
		maxRestoreTestAgeDays: pick(given.maxRestoreTestAgeDays, DEFAULT_THRESHOLDS.maxRestoreTestAgeDays),
		minCopies: Math.floor(pick(given.minCopies, DEFAULT_THRESHOLDS.minCopies)),
		trendLength: Math.max(2, Math.floor(pick(given.trendLength, DEFAULT_THRESHOLDS.trendLength))),
		sizeJumpPercent: pick(given.sizeJumpPercent, DEFAULT_THRESHOLDS.sizeJumpPercent),
		rtoJumpPercent: pick(given.rtoJumpPercent, DEFAULT_THRESHOLDS.rtoJumpPercent),
		maxRtoMinutes: pick(given.maxRtoMinutes, DEFAULT_THRESHOLDS.maxRtoMinutes),
		maxChainLength: Math.floor(pick(given.maxChainLength, DEFAULT_THRESHOLDS.maxChainLength)),
		unfinishedAfterHours: pick(given.unfinishedAfterHours, DEFAULT_THRESHOLDS.unfinishedAfterHours),
	};
}

/** One result per environment: the named ones, else every one found (sorted); '*' when none is found at all. */
export function evaluateMonitor(input: MonitorInput): EnvironmentResult[] {
	const thresholds = resolveThresholds(input.thresholds);
	const named = [...new Set((input.environments ?? []).map((e) => e.trim()).filter(Boolean))];
	const found = [
		...new Set(input.destinations.filter((d) => !d.error).flatMap((d) => d.environments.map((e) => e.environment))),
	].sort();
	const environments = named.length ? named : found.length ? found : ['*'];
	return environments.map((environment) => evaluateEnvironment(environment, input, thresholds));
}

interface MergedSet {
	set: SetReading;
	/** Destinations where it is complete. */
	completeOn: string[];
	/** Destinations where it and its whole chain are complete. */
	goodOn: string[];
	/** Why it is not good anywhere (from the first destination holding it complete). */
	why?: string;
}

const newestFirst = (a: SetReading, b: SetReading) =>
	Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.backupId.localeCompare(a.backupId);

const ageSeconds = (now: Date, iso: string) => Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));

const median = (values: number[]): number | null => {
	if (!values.length) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const percentChange = (latest: number, base: number | null) =>
	base === null || base === 0 ? null : ((latest - base) / base) * 100;

/** Per destination: which sets are good there (complete, chain complete), and why not. */
function goodnessOn(sets: SetReading[]): Map<string, { ok: boolean; why?: string }> {
	const byId = new Map(sets.map((s) => [s.backupId, s]));
	const result = new Map<string, { ok: boolean; why?: string }>();
	const visit = (set: SetReading, visiting: Set<string>): { ok: boolean; why?: string } => {
		const known = result.get(set.backupId);
		if (known) return known;
		let outcome: { ok: boolean; why?: string };
		const needed = dependencyOf(set);
		const parent = needed === null ? undefined : byId.get(needed);
		if (!set.complete) outcome = { ok: false, why: set.problem ?? 'incomplete' };
		else if (needed === null) outcome = { ok: true };
		else if (!parent) outcome = { ok: false, why: `it needs ${needed}, which is not on the destination` };
		else if (visiting.has(needed)) outcome = { ok: false, why: `its chain loops back to ${needed}` };
		else {
			visiting.add(set.backupId);
			const up = visit(parent, visiting);
			outcome = up.ok ? up : { ok: false, why: `it needs ${needed}, which cannot be restored (${up.why})` };
		}
		result.set(set.backupId, outcome);
		return outcome;
	};
	for (const set of sets) visit(set, new Set());
	return result;
}

function mergeSets(readings: Array<{ destination: string; reading: EnvironmentReading }>): MergedSet[] {
	const merged = new Map<string, MergedSet>();
	for (const { destination, reading } of readings) {
		const good = goodnessOn(reading.sets);
		for (const set of reading.sets) {
			let entry = merged.get(set.backupId);
			if (!entry) {
				entry = { set, completeOn: [], goodOn: [] };
				merged.set(set.backupId, entry);
			}
			if (set.complete) {
				if (!entry.completeOn.length) entry.set = set;
				entry.completeOn.push(destination);
			}
			const state = good.get(set.backupId)!;
			if (state.ok) entry.goodOn.push(destination);
			else if (set.complete && !entry.why) entry.why = state.why;
		}
	}
	return [...merged.values()].sort((a, b) => newestFirst(a.set, b.set));
}

function evaluateEnvironment(environment: string, input: MonitorInput, t: MonitorThresholds): EnvironmentResult {
	const { now } = input;
	const found: MonitorReason[] = [];
	const figures: EnvironmentFigures = {
		destinations: [],
		newest: [],
		copies: null,
		requiredCopies: t.minCopies > 0 ? t.minCopies : input.destinations.length,
		sizes: [],
		chains: [],
		restoreTests: emptyRestoreTests(),
		completeSets: 0,
		unfinished: [],
		invalid: [],
		damaged: [],
		locks: [],
		staleLocks: 0,
	};

	// Which destinations could be read for this environment.
	const readings: Array<{ destination: string; reading: EnvironmentReading }> = [];
	let readable = 0;
	for (const d of input.destinations) if (readDestination(environment, d, readings, figures, found)) readable++;

	const merged = mergeSets(readings);
	figures.completeSets = merged.filter((m) => m.completeOn.length).length;
	for (const { destination, reading } of readings) perDestinationFigures(destination, reading, now, t, figures, found);

	if (readable && !merged.length) found.push(reasons.neverBackedUp(environment));
	if (merged.length) {
		backupRules(
			merged,
			now,
			t,
			figures,
			found,
			input.destinations.map((d) => d.destination),
		);
		restoreTestRules(readings, now, t, figures, found);
	}

	found.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
	const status: MonitorStatus = found.some((r) => r.severity === 'critical')
		? 'critical'
		: found.length
			? 'warning'
			: 'ok';
	return { environment, status, reasons: found, figures, checkedAt: now.toISOString() };
}

function readDestination(
	environment: string,
	d: DestinationReading,
	readings: Array<{ destination: string; reading: EnvironmentReading }>,
	figures: EnvironmentFigures,
	found: MonitorReason[],
): boolean {
	const reading = d.environments.find((e) => e.environment === environment);
	const error = d.error ?? reading?.error;
	if (error) {
		figures.destinations.push({ destination: d.destination, reachable: false, error, sets: 0 });
		found.push(reasons.destinationUnreachable(d.destination, error));
		return false;
	}
	figures.destinations.push({
		destination: d.destination,
		reachable: true,
		sets: reading?.sets.filter((s) => s.complete).length ?? 0,
	});
	if (reading) readings.push({ destination: d.destination, reading });
	return true;
}

function perDestinationFigures(
	destination: string,
	reading: EnvironmentReading,
	now: Date,
	t: MonitorThresholds,
	figures: EnvironmentFigures,
	found: MonitorReason[],
) {
	const damaged = reading.sets
		.filter((s) => !s.complete)
		.map((s) => ({ backupId: s.backupId, problem: s.problem ?? 'incomplete' }));
	figures.damaged.push(...damaged.map((d) => ({ destination, ...d })));
	if (damaged.length) found.push(reasons.damagedSets(destination, damaged));

	figures.invalid.push(...reading.invalid.map((i) => ({ destination, ...i })));
	if (reading.invalid.length) found.push(reasons.invalidSets(destination, reading.invalid));

	const unfinished = reading.unfinished.map((u) => ({ destination, ...u, ageSeconds: ageSeconds(now, u.modifiedAt) }));
	figures.unfinished.push(...unfinished);
	const old = unfinished.filter((u) => t.unfinishedAfterHours > 0 && u.ageSeconds > t.unfinishedAfterHours * 3600);
	if (old.length) found.push(reasons.unfinishedSets(destination, old, t.unfinishedAfterHours));

	const lock = reading.lock;
	if (lock) {
		const age = lock.renewedAt ? ageSeconds(now, lock.renewedAt) : null;
		const stale =
			lock.state === 'present' && age !== null && lock.staleAfterMs !== undefined && age * 1000 > lock.staleAfterMs;
		figures.locks.push({ destination, ...lock, stale, ageSeconds: age });
		if (stale) {
			figures.staleLocks++;
			found.push(reasons.staleLock(destination, lock.owner ?? '?', lock.purpose ?? '?', age!));
		}
		if (lock.state === 'unreadable') found.push(reasons.unreadableLock(destination));
	}

	const invalidRecords = reading.restoreTests.filter((r) => r.invalid).map((r) => r.fileName);
	if (invalidRecords.length) found.push(reasons.invalidRestoreRecords(destination, invalidRecords));
}

function backupRules(
	merged: MergedSet[],
	now: Date,
	t: MonitorThresholds,
	figures: EnvironmentFigures,
	found: MonitorReason[],
	allDestinations: string[],
) {
	const byId = new Map(merged.map((m) => [m.set.backupId, m]));
	const engines = [...new Set(merged.map((m) => m.set.engine))].sort();
	for (const engine of engines) {
		const ofEngine = merged.filter((m) => m.set.engine === engine);
		const component = ofEngine[0].set.component;
		const goodOfEngine = ofEngine.filter((m) => m.goodOn.length);
		if (!goodOfEngine.length) {
			found.push(
				reasons.noGoodBackup(engine, ofEngine.find((m) => m.set.type === 'full') ? 'full' : ofEngine[0].set.type),
			);
		}

		for (const type of TYPES) {
			const ofType = ofEngine.filter((m) => m.set.type === type);
			const newestGood = ofType.find((m) => m.goodOn.length);
			if (newestGood) {
				const figure: NewestSetFigure = {
					engine,
					component,
					type,
					backupId: newestGood.set.backupId,
					startedAt: newestGood.set.startedAt,
					ageSeconds: ageSeconds(now, newestGood.set.startedAt),
					bytes: newestGood.set.bytes,
					copies: newestGood.goodOn.length,
					destinations: [...newestGood.goodOn],
				};
				figures.newest.push(figure);
				if (figure.copies < figures.requiredCopies)
					found.push(
						reasons.tooFewCopies(
							engine,
							type,
							figure.backupId,
							figure.copies,
							figures.requiredCopies,
							allDestinations.filter((d) => !newestGood.goodOn.includes(d)),
						),
					);
			}
			// The age rule: full for every engine with sets, the other types where the engine makes them.
			const limit = t.maxAgeHours[type];
			if (limit > 0 && goodOfEngine.length && (type === 'full' || ofType.length)) {
				if (!newestGood) found.push(reasons.noGoodBackup(engine, type));
				else if (ageSeconds(now, newestGood.set.startedAt) > limit * 3600)
					found.push(
						reasons.staleBackup(
							engine,
							type,
							newestGood.set.backupId,
							ageSeconds(now, newestGood.set.startedAt),
							limit,
						),
					);
			}
			// The newest complete set of the type cannot be restored: say why (damaged ones are reported per destination).
			const newestComplete = ofType.find((m) => m.completeOn.length);
			if (newestComplete && !newestComplete.goodOn.length)
				found.push(
					reasons.chainBroken(
						newestComplete.set.backupId,
						newestComplete.why ?? 'its chain is incomplete',
						engine,
						type,
					),
				);

			const sizes = sizeTrend(engine, component, type, ofType, t);
			if (sizes) {
				figures.sizes.push(sizes);
				sizeRules(sizes, t, found);
			}
		}

		const newestOfEngine = goodOfEngine[0];
		if (newestOfEngine) {
			const chain = chainOf(newestOfEngine, byId);
			figures.chains.push({ engine, component, ...chain });
			if (t.maxChainLength > 0 && chain.length > t.maxChainLength)
				found.push(reasons.chainTooLong(engine, chain.newestBackupId, chain.length, t.maxChainLength));
		}
	}
	const copies = figures.newest.map((n) => n.copies);
	figures.copies = copies.length ? Math.min(...copies) : null;
}

function chainOf(newest: MergedSet, byId: Map<string, MergedSet>): Omit<ChainFigure, 'engine' | 'component'> {
	let current: MergedSet | undefined = newest;
	let length = 0;
	const seen = new Set<string>();
	let full = newest.set.backupId;
	while (current && !seen.has(current.set.backupId)) {
		seen.add(current.set.backupId);
		length++;
		full = current.set.backupId;
		const needed = dependencyOf(current.set);
		current = needed === null ? undefined : byId.get(needed);
	}
	return { newestBackupId: newest.set.backupId, length, fullBackupId: full };
}

function sizeTrend(
	engine: string,
	component: string,
	type: BackupType,
	ofType: MergedSet[],
	t: MonitorThresholds,
): SizeTrendFigure | undefined {
	const recent = ofType.filter((m) => m.completeOn.length).slice(0, t.trendLength);
	if (!recent.length) return undefined;
	const samples = recent
		.map((m) => ({ backupId: m.set.backupId, startedAt: m.set.startedAt, bytes: m.set.bytes }))
		.reverse();
	const latestBytes = samples[samples.length - 1].bytes;
	const previousMedianBytes = median(samples.slice(0, -1).map((s) => s.bytes));
	return {
		engine,
		component,
		type,
		samples,
		latestBytes,
		previousMedianBytes,
		changePercent: percentChange(latestBytes, previousMedianBytes),
	};
}

/** Fulls only: differentials, incrementals and logs vary by nature with the day's activity. */
function sizeRules(trend: SizeTrendFigure, t: MonitorThresholds, found: MonitorReason[]) {
	if (trend.type !== 'full' || t.sizeJumpPercent <= 0 || !trend.previousMedianBytes) return;
	const latest = trend.samples[trend.samples.length - 1];
	const base = trend.previousMedianBytes;
	const change = trend.changePercent!;
	if (latest.bytes <= base * (1 - t.sizeJumpPercent / 100))
		found.push(reasons.sizeDrop(trend.engine, latest.backupId, latest.bytes, base, change));
	else if (latest.bytes >= base * (1 + t.sizeJumpPercent / 100))
		found.push(reasons.sizeJump(trend.engine, latest.backupId, latest.bytes, base, change));
}

function emptyRestoreTests(): RestoreTestFigures {
	return {
		count: 0,
		newestPassed: null,
		last: null,
		rto: { samples: [], latestMs: null, previousMedianMs: null, changePercent: null },
	};
}

function restoreTestRules(
	readings: Array<{ destination: string; reading: EnvironmentReading }>,
	now: Date,
	t: MonitorThresholds,
	figures: EnvironmentFigures,
	found: MonitorReason[],
) {
	// The same test recorded on two destinations counts once; a read, valid copy wins over a name-only one.
	const byName = new Map<string, RestoreTestReading>();
	for (const { reading } of readings)
		for (const test of reading.restoreTests) {
			if (test.invalid) continue;
			const known = byName.get(test.fileName);
			if (!known || (known.rtoMs === undefined && test.rtoMs !== undefined)) byName.set(test.fileName, test);
		}
	const tests = [...byName.values()].sort(
		(a, b) => b.finishedAt.localeCompare(a.finishedAt) || b.fileName.localeCompare(a.fileName),
	);
	const figure = figures.restoreTests;
	figure.count = tests.length;
	const last = tests[0];
	const passed = tests.find((r) => r.passed);
	if (last)
		figure.last = {
			testedId: last.testedId,
			finishedAt: last.finishedAt,
			ageSeconds: ageSeconds(now, last.finishedAt),
			passed: last.passed,
			rtoMs: last.rtoMs ?? null,
		};
	if (passed)
		figure.newestPassed = {
			testedId: passed.testedId,
			finishedAt: passed.finishedAt,
			ageSeconds: ageSeconds(now, passed.finishedAt),
		};

	if (last && !last.passed) found.push(reasons.restoreTestFailed(last.testedId, figure.last!.ageSeconds));
	if (t.maxRestoreTestAgeDays > 0) {
		if (!figure.newestPassed) found.push(reasons.neverRestoreTested(tests.length > 0));
		else if (figure.newestPassed.ageSeconds > t.maxRestoreTestAgeDays * 86400)
			found.push(
				reasons.restoreTestStale(figure.newestPassed.testedId, figure.newestPassed.ageSeconds, t.maxRestoreTestAgeDays),
			);
	}

	const samples = tests
		.filter((r) => r.passed && r.rtoMs !== undefined)
		.slice(0, t.trendLength)
		.map((r) => ({ testedId: r.testedId, finishedAt: r.finishedAt, rtoMs: r.rtoMs! }))
		.reverse();
	if (!samples.length) return;
	const latest = samples[samples.length - 1];
	const previous = samples.slice(0, -1).map((s) => s.rtoMs);
	const previousMedianMs = median(previous);
	figure.rto = {
		samples,
		latestMs: latest.rtoMs,
		previousMedianMs,
		changePercent: percentChange(latest.rtoMs, previousMedianMs),
	};
	if (t.maxRtoMinutes > 0 && latest.rtoMs > t.maxRtoMinutes * 60_000)
		found.push(reasons.rtoOverLimit(latest.testedId, latest.rtoMs, t.maxRtoMinutes));
	// Three earlier tests at least: one slow run of a busy restore server is not a trend.
	if (
		t.rtoJumpPercent > 0 &&
		previous.length >= 3 &&
		previousMedianMs !== null &&
		latest.rtoMs >= previousMedianMs * (1 + t.rtoJumpPercent / 100) &&
		latest.rtoMs - previousMedianMs >= RTO_JUMP_MIN_MS
	)
		found.push(reasons.rtoJump(latest.testedId, latest.rtoMs, previousMedianMs, figure.rto.changePercent!));
}
