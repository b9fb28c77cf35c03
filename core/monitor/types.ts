/**
 * TOTVS Monitor's contract: what is read from the destinations (readings), the thresholds, and
 * the one result per environment (status, reasons in English and Portuguese, figures). The
 * evaluation (evaluate.ts) is a pure function of these, so every rule is unit-tested without a
 * destination; gather.ts produces the readings, read-only.
 */
import type { BackupType } from '../backup-set/ids';

export type MonitorStatus = 'ok' | 'warning' | 'critical';
export type Severity = 'warning' | 'critical';
export type MonitorLanguage = 'en' | 'pt-BR';

/** Every threshold; 0 switches a rule off unless said otherwise. */
export interface MonitorThresholds {
	/**
	 * Critical when the newest good (complete, chain intact) set of an engine and type is older
	 * than this many hours. Full is checked for every engine that has sets; the other types only
	 * for engines that have sets of that type. Default: full 26 h (a nightly full plus a margin), others off.
	 */
	maxAgeHours: Record<BackupType, number>;
	/** Warning when the newest passed restore test is older than this many days (or there is none). Default 8. */
	maxRestoreTestAgeDays: number;
	/** Warning when the newest good set is held by fewer destinations than this. 0 (default): every destination read. */
	minCopies: number;
	/** How many sets and restore tests the size and RTO trends look at. Default 10. */
	trendLength: number;
	/**
	 * Size of the newest full against the median of the fulls before it: shrunk by this many percent
	 * or more is critical (a dump that lost half its data), grown by as much is a warning. Default 50.
	 */
	sizeJumpPercent: number;
	/** Warning when the newest passed test's RTO exceeds the median of the ones before by this many percent (and by at least a minute). Default 50. */
	rtoJumpPercent: number;
	/** Warning when the newest passed restore test took longer than this many minutes. Default off. */
	maxRtoMinutes: number;
	/** Warning when the chain of the newest set (full + differentials / incrementals / logs) is longer than this. Default off. */
	maxChainLength: number;
	/** Warning for unfinished uploads (a folder of ours without manifest) unchanged for longer than this many hours. Default 24. */
	unfinishedAfterHours: number;
}

export const DEFAULT_THRESHOLDS: MonitorThresholds = {
	maxAgeHours: { full: 26, differential: 0, incremental: 0, log: 0 },
	maxRestoreTestAgeDays: 8,
	minCopies: 0,
	trendLength: 10,
	sizeJumpPercent: 50,
	rtoJumpPercent: 50,
	maxRtoMinutes: 0,
	maxChainLength: 0,
	unfinishedAfterHours: 24,
};

/** An RTO rise smaller than this is noise (a restore of a small test database), whatever the percent. */
export const RTO_JUMP_MIN_MS = 60_000;

/* ------------------------------------------------------------------ readings (input) */

export interface SetReading {
	backupId: string;
	engine: string;
	component: string;
	type: BackupType;
	baseBackupId: string | null;
	parentBackupId: string | null;
	startedAt: string;
	finishedAt: string;
	bytes: number;
	/** Every artifact is on the destination with its recorded size. */
	complete: boolean;
	/** Why it is not complete. */
	problem?: string;
}

export interface UnfinishedReading {
	backupId: string;
	modifiedAt: string;
	bytes: number;
}

export interface InvalidReading {
	/** The folder's name. */
	backupId: string;
	reason: string;
}

export interface RestoreTestReading {
	/** The record's file name: the same test recorded on two destinations counts once. */
	fileName: string;
	testedId: string;
	finishedAt: string;
	passed: boolean;
	/** From the content, when it was read. */
	rtoMs?: number;
	restoreMs?: number;
	restoredBytes?: number;
	/** The content was read and cannot be trusted. */
	invalid?: string;
}

export interface LockReading {
	/** 'unreadable': a lock file that cannot be parsed (it still blocks uploads). */
	state: 'present' | 'unreadable';
	owner?: string;
	purpose?: string;
	acquiredAt?: string;
	renewedAt?: string;
	staleAfterMs?: number;
}

export interface EnvironmentReading {
	environment: string;
	/** Reading this environment on this destination failed (the rest of the destination may be fine). */
	error?: string;
	sets: SetReading[];
	unfinished: UnfinishedReading[];
	invalid: InvalidReading[];
	/** Newest first. */
	restoreTests: RestoreTestReading[];
	lock: LockReading | null;
}

export interface DestinationReading {
	/** Destination.describe(), or what names it when it could not be opened. */
	destination: string;
	/** The destination could not be read at all. */
	error?: string;
	environments: EnvironmentReading[];
	/** Destination calls made to read it (for the request-count test and the logs). */
	requests?: number;
}

export interface MonitorInput {
	destinations: DestinationReading[];
	now: Date;
	thresholds?: Partial<Omit<MonitorThresholds, 'maxAgeHours'>> & { maxAgeHours?: Partial<Record<BackupType, number>> };
	/** The environments to report; empty or absent: every environment found. */
	environments?: string[];
}

/* ------------------------------------------------------------------ result (output) */

export type ReasonCode =
	| 'destination-unreachable'
	| 'never-backed-up'
	| 'no-good-backup'
	| 'stale-backup'
	| 'chain-broken'
	| 'chain-too-long'
	| 'too-few-copies'
	| 'restore-test-failed'
	| 'restore-test-stale'
	| 'never-restore-tested'
	| 'rto-over-limit'
	| 'rto-jump'
	| 'size-drop'
	| 'size-jump'
	| 'damaged-set'
	| 'invalid-set'
	| 'unfinished-set'
	| 'stale-lock'
	| 'unreadable-lock'
	| 'invalid-restore-record';

export interface MonitorReason {
	code: ReasonCode;
	severity: Severity;
	en: string;
	ptBR: string;
	/** The destination it is about, when it is about one. */
	destination?: string;
	engine?: string;
	type?: BackupType;
}

export interface NewestSetFigure {
	engine: string;
	component: string;
	type: BackupType;
	backupId: string;
	startedAt: string;
	/** now - startedAt: the age of the data in it. */
	ageSeconds: number;
	bytes: number;
	/** Destinations holding a good copy (complete, with its chain). */
	copies: number;
	destinations: string[];
}

export interface SizeSample {
	backupId: string;
	startedAt: string;
	bytes: number;
}

export interface SizeTrendFigure {
	engine: string;
	component: string;
	type: BackupType;
	/** Oldest first, the newest `trendLength` complete sets. */
	samples: SizeSample[];
	latestBytes: number;
	/** Median of the samples before the latest; null with only one. */
	previousMedianBytes: number | null;
	/** (latest - previous median) / previous median, in percent; null without a previous median. */
	changePercent: number | null;
}

export interface ChainFigure {
	engine: string;
	component: string;
	/** The newest good set of the engine, any type. */
	newestBackupId: string;
	/** Sets a restore of it needs, itself and its full included. */
	length: number;
	fullBackupId: string;
}

export interface RtoSample {
	testedId: string;
	finishedAt: string;
	rtoMs: number;
}

export interface RestoreTestFigures {
	/** Records found (by name), every destination together. */
	count: number;
	newestPassed: { testedId: string; finishedAt: string; ageSeconds: number } | null;
	last: { testedId: string; finishedAt: string; ageSeconds: number; passed: boolean; rtoMs: number | null } | null;
	/** Passed tests, oldest first (the newest `trendLength` whose record was read). */
	rto: {
		samples: RtoSample[];
		latestMs: number | null;
		previousMedianMs: number | null;
		changePercent: number | null;
	};
}

export interface DestinationFigure {
	destination: string;
	reachable: boolean;
	error?: string;
	/** Complete sets of this environment there. */
	sets: number;
}

export interface EnvironmentFigures {
	destinations: DestinationFigure[];
	/** Newest good set per engine and type. */
	newest: NewestSetFigure[];
	/** Fewest copies among the newest good sets; null when there is none. */
	copies: number | null;
	/** Copies the rule asks for (minCopies, or every destination read). */
	requiredCopies: number;
	sizes: SizeTrendFigure[];
	chains: ChainFigure[];
	restoreTests: RestoreTestFigures;
	/** Distinct complete sets, every destination together. */
	completeSets: number;
	unfinished: Array<UnfinishedReading & { destination: string; ageSeconds: number }>;
	invalid: Array<InvalidReading & { destination: string }>;
	damaged: Array<{ destination: string; backupId: string; problem: string }>;
	locks: Array<LockReading & { destination: string; stale: boolean; ageSeconds: number | null }>;
	staleLocks: number;
}

export interface EnvironmentResult {
	/** '*' when nothing at all was found and no environment was named. */
	environment: string;
	status: MonitorStatus;
	/** Worst first. */
	reasons: MonitorReason[];
	figures: EnvironmentFigures;
	checkedAt: string;
}
