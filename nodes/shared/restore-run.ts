import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { manifestPathOf } from '../../core/backup';
import { readSet } from '../../core/backup-set/catalog';
import { isSealed, manifestOf, type Manifest } from '../../core/backup-set/manifest';
import { identitiesFor } from '../../core/backup-set/sealed-read';
import { currentSetKeys, withSetKeys } from '../../core/backup-set/set-keys';
import { check, type CheckResult } from '../../core/checks/check';
import { openDestination, type Destination } from '../../core/destinations';
import { isBackupError } from '../../core/errors';
import {
	fetchRemoteRestorePoint,
	fetchRemoteSet,
	filesRestoreHost,
	findLocalSet,
	findRestorePoint,
	findRestorePointBeside,
	type DatabaseRestoreServer,
	type FetchedRestorePoint,
	type FetchedSet,
	type FilesRestoreServer,
	type RestorePointSets,
	type RestoreReport,
	type RestoreServer,
} from '../../core/restore-test';
import { formatDuration } from '../../core/format';
import { backupItem, unknownSetFields } from './backup-item';
import type { Language } from './summary';
import { destinationConfigOf, type DestinationChoice } from './destination-credentials';
import { noSetFolderHint } from './hints';
import { POSTGRES_CREDENTIAL, postgresConnection } from './postgres-credential';
import type { PostgresConnection } from '../../core/sources/postgres';
import { sharedFolderOf, sqlServerRestoreServer } from './sqlserver-access';

/**
 * What TOTVS Restore Test and TOTVS Restore share while they run: the restore server (read once
 * per execution for PostgreSQL), the set each item restores (from the item, a backups folder or
 * fetched from a destination), each item's progress (for the fields of a failed item) and the
 * HTML reports to attach. Each node's router opens one per execution.
 */

/** The restore server as items, records and warnings name it: never a user or a password. */
export interface RestoreServerAddress {
	engine: RestoreServer['engine'];
	host: string;
	port: number | null;
	/** SQL Server named instance. */
	instance: string | null;
}

/** The set an item restores. */
export interface ChosenSet {
	folder: string;
	/** Set when it was downloaded from a destination (removed or kept by `finish`). */
	fetched?: FetchedSet;
	/** Undefined when the manifest cannot be read: the restore's own verification reports why. */
	manifest?: Manifest;
}

/** Where an item got to: what a failed item reports. */
export interface RestoreItemState {
	startedAt: Date;
	/** 'set': choosing the set (or downloading it); 'restore': restoring and checking it. */
	phase: 'set' | 'restore';
	address?: RestoreServerAddress;
	chosen?: ChosenSet;
	/** The destination the set was (or was to be) downloaded from, as Destination.describe() names it. */
	where?: string;
	error?: unknown;
}

export type SetSource = 'item' | 'folder' | 'destination';

/** A restore point an item restores: its two sets, downloaded when from a destination. */
export interface ChosenRestorePoint {
	sets: RestorePointSets;
	fetched?: FetchedRestorePoint;
}

export interface RestoreRun {
	/** Starts item i's state (its start time). */
	begin(itemIndex: number): RestoreItemState;
	state(itemIndex: number): RestoreItemState | undefined;
	setSource(itemIndex: number): SetSource;
	/** The restore server of item i; for the files operation, the files server (a folder on this machine). */
	server(itemIndex: number): Promise<{ server: RestoreServer; address: RestoreServerAddress }>;
	/** Where item i's files set is restored (test: its scratch folder). */
	filesServer(itemIndex: number): FilesRestoreServer;
	/** Chooses (and for a destination downloads and verifies) the restore point of item i. */
	chooseRestorePoint(itemIndex: number, databaseServer: DatabaseRestoreServer): Promise<ChosenRestorePoint>;
	/** Chooses (and for a destination downloads and verifies) the set of item i. */
	chooseSet(itemIndex: number, server: RestoreServer): Promise<ChosenSet>;
	/** The destination item i reads its set from, opened anew (close it when done). */
	openSetDestination(itemIndex: number): Promise<Destination>;
	option<T>(itemIndex: number, name: string, fallback: T): T;
	/** A boolean option of item i: true only when switched on. */
	flag(itemIndex: number, name: string): boolean;
	/** Keeps item i's HTML report, to attach as binary once every item ran. */
	addReport(itemIndex: number, html: string, fileName: string): Promise<void>;
	/** The output with each item's report attached, under the Binary Field option. */
	withReports(output: INodeExecutionData[][]): INodeExecutionData[][];
}

export function openRestoreRun(ctx: IExecuteFunctions): RestoreRun {
	let postgres: Promise<PostgresConnection> | undefined;
	const states = new Map<number, RestoreItemState>();
	const reports = new Map<number, IBinaryData>();
	const option = <T>(i: number, name: string, fallback: T) => ctx.getNodeParameter(`options.${name}`, i, fallback) as T;
	const flag = (i: number, name: string) => option<unknown>(i, name, false) === true;
	const setDestination = async (i: number) => {
		const choice = ctx.getNodeParameter('destination', i) as DestinationChoice;
		return openDestination(await destinationConfigOf(ctx, choice, i));
	};
	const filesServer = (i: number): FilesRestoreServer => ({
		engine: 'protheus-files',
		scratchFolder: String(option(i, 'scratchFolder', '') ?? '').trim() || undefined,
	});
	/** The destination of item i, opened for `use` and closed after it (the restore can take long). */
	const withDestination = async <T>(i: number, use: (destination: Destination) => Promise<T>): Promise<T> => {
		const destination = await setDestination(i);
		const state = states.get(i);
		if (state) state.where = destination.describe();
		try {
			return await use(destination);
		} finally {
			await destination.close().catch(() => undefined);
		}
	};
	return {
		begin: (i) => {
			const state: RestoreItemState = { startedAt: new Date(), phase: 'set' };
			states.set(i, state);
			return state;
		},
		state: (i) => states.get(i),
		setSource: (i) => ctx.getNodeParameter('setSource', i) as SetSource,
		filesServer,
		server: async (i) => {
			if (ctx.getNodeParameter('operation', i, '') === 'files')
				return {
					server: filesServer(i),
					address: { engine: 'protheus-files', host: filesRestoreHost(), port: null, instance: null },
				};
			if (ctx.getNodeParameter('restoreServer', i, 'postgres') === 'sqlserver') {
				const { connect, address } = await sqlServerRestoreServer(ctx, i);
				return {
					server: {
						engine: 'sqlserver',
						connect,
						address,
						sharedFolder: (recorded) => sharedFolderOf(ctx, i, recorded),
					},
					address: { engine: 'sqlserver', host: address.server, port: address.port, instance: address.instance },
				};
			}
			const connection = await (postgres ??= ctx.getCredentials(POSTGRES_CREDENTIAL).then(postgresConnection));
			return {
				server: {
					engine: 'postgres',
					connection,
					restore: {
						jobs: Number(option(i, 'jobs', 2)),
						owners: flag(i, 'restoreOwners'),
						privileges: flag(i, 'restorePrivileges'),
						encoding: String(option(i, 'encoding', '') ?? '').trim() || undefined,
					},
					freshnessDays: Number(option(i, 'freshnessDays', 3)),
				},
				address: { engine: 'postgres', host: connection.host, port: connection.port, instance: null },
			};
		},
		chooseSet: async (i, server) => {
			const source = ctx.getNodeParameter('setSource', i) as SetSource;
			let chosen: ChosenSet;
			if (source === 'destination') {
				const fetched: FetchedSet = await withDestination(i, (destination) =>
					fetchRemoteSet(destination, server, {
						environment: ctx.getNodeParameter('environment', i) as string,
						backupId: askedBackupId(ctx, i),
						stagingFolder: String(ctx.getNodeParameter('stagingFolder', i, '') ?? ''),
						logger: ctx.logger,
						signal: ctx.getExecutionCancelSignal?.(),
					}),
				);
				chosen = { folder: fetched.folder, fetched };
			} else if (source === 'folder') {
				chosen = {
					folder: await findLocalSet(
						ctx.getNodeParameter('backupsFolder', i) as string,
						ctx.getNodeParameter('environment', i) as string,
						askedBackupId(ctx, i),
						server.engine,
					),
				};
			} else {
				const folder = String(ctx.getNodeParameter('setFolder', i, '') ?? '').trim();
				if (!folder)
					throw new NodeOperationError(ctx.getNode(), 'No backup set folder to restore', {
						itemIndex: i,
						description: noSetFolderHint('TOTVS Dump or TOTVS Verify'),
					});
				chosen = { folder };
			}
			chosen.manifest = await readSet(chosen.folder).catch(() => undefined);
			const state = states.get(i);
			if (state) state.chosen = chosen;
			return chosen;
		},
		chooseRestorePoint: async (i, databaseServer) => {
			const source = ctx.getNodeParameter('setSource', i) as SetSource;
			const id = askedRestorePointId(ctx, i);
			let point: ChosenRestorePoint;
			if (source === 'destination') {
				const fetched = await withDestination(i, (destination) =>
					fetchRemoteRestorePoint(destination, databaseServer, filesServer(i), {
						environment: ctx.getNodeParameter('environment', i) as string,
						restorePointId: id,
						stagingFolder: String(ctx.getNodeParameter('stagingFolder', i, '') ?? ''),
						logger: ctx.logger,
						signal: ctx.getExecutionCancelSignal?.(),
					}),
				);
				point = { sets: fetched.sets, fetched };
			} else if (source === 'folder') {
				point = {
					sets: await findSealedRestorePoint(() =>
						findRestorePoint(
							ctx.getNodeParameter('backupsFolder', i) as string,
							ctx.getNodeParameter('environment', i) as string,
							id,
						),
					),
				};
			} else {
				// The item's set lies in <backups folder>/<environment>/<backupId>: its restore point's other set beside it.
				const folder = String(ctx.getNodeParameter('setFolder', i, '') ?? '').trim();
				if (!folder || !id)
					throw new NodeOperationError(ctx.getNode(), 'No restore point to restore from the input item', {
						itemIndex: i,
						description: noSetFolderHint('TOTVS Dump (Database + Files)'),
					});
				point = { sets: await findSealedRestorePoint(() => findRestorePointBeside(folder, id)) };
			}
			const state = states.get(i);
			if (state) state.chosen = { folder: point.sets.database.folder, manifest: point.sets.database.manifest };
			return point;
		},
		openSetDestination: setDestination,
		option,
		flag,
		addReport: async (i, html, fileName) => {
			reports.set(i, await ctx.helpers.prepareBinaryData(Buffer.from(html, 'utf8'), fileName, 'text/html'));
		},
		withReports: ([output]) => {
			for (const entry of output) {
				const index = (entry.pairedItem as { item: number }).item;
				const binary = reports.get(index);
				if (!binary) continue;
				const property = String(option(index, 'htmlBinaryProperty', 'report') ?? '').trim() || 'report';
				entry.binary = { ...entry.binary, [property]: binary };
			}
			return [output];
		},
	};
}

/**
 * A restore point in a local folder, found by its sets' public manifests (restorePointId,
 * component, times; signatures checked), so that a sealed point the identity does not open is
 * named and refused rather than missing from the listing. Then, before anything is restored,
 * each half is read with the identity: none given, or another one, is an error naming the
 * fingerprints the set was sealed for.
 */
async function findSealedRestorePoint(find: () => Promise<RestorePointSets>): Promise<RestorePointSets> {
	const keys = currentSetKeys();
	const sets = keys?.identities?.length ? await withSetKeys({ ...keys, identities: undefined }, find) : await find();
	const unsealed = async (set: RestorePointSets['database']) => {
		if (!isSealed(set.manifest)) return set;
		identitiesFor(set.manifest);
		return { ...set, manifest: await readSet(set.folder) };
	};
	return { ...sets, database: await unsealed(sets.database), files: await unsealed(sets.files) };
}

/** The restore point asked for: the item's, or "By ID"'s; undefined for "Latest". */
export function askedRestorePointId(ctx: IExecuteFunctions, i: number): string | undefined {
	if (ctx.getNodeParameter('setSource', i) !== 'item' && ctx.getNodeParameter('pick', i) !== 'backupId')
		return undefined;
	return String(ctx.getNodeParameter('restorePointId', i, '') ?? '').trim() || undefined;
}

/** "By Backup ID": the ID asked for; undefined for "Latest" and for a set from the input item. */
export function askedBackupId(ctx: IExecuteFunctions, i: number): string | undefined {
	if (ctx.getNodeParameter('setSource', i) === 'item') return undefined;
	if (ctx.getNodeParameter('pick', i) !== 'backupId') return undefined;
	return String(ctx.getNodeParameter('backupId', i, '') ?? '').trim() || undefined;
}

export interface RestoredSet<R extends RestoreReport> {
	report: R;
	chosen: ChosenSet;
	/** Where the downloaded copy was kept ("Keep Downloaded Set"); undefined when removed or not downloaded. */
	keptAt?: string;
	address: RestoreServerAddress;
}

/**
 * Item i's whole run: the restore server, the set, then `restore` on it. A downloaded set is
 * removed (or kept, when asked) afterwards, also when the restore threw. What the item got to,
 * and the error that stopped it, stay in its state for its failed item.
 */
export async function restoreChosenSet<R extends RestoreReport>(
	run: RestoreRun,
	i: number,
	restore: (folder: string, server: RestoreServer) => Promise<R>,
): Promise<RestoredSet<R>> {
	const state = run.begin(i);
	const work = async (): Promise<RestoredSet<R>> => {
		const { server, address } = await run.server(i);
		state.address = address;
		const chosen = await run.chooseSet(i, server);
		state.phase = 'restore';
		// A SQL Server chain lies in the shared folder it was downloaded into: restore from that one.
		const shared = chosen.fetched?.shared;
		const onServer = shared && server.engine === 'sqlserver' ? { ...server, sharedFolder: () => shared } : server;
		let report: R;
		let keptAt: string | undefined;
		try {
			report = await restore(chosen.folder, onServer);
		} finally {
			keptAt = await chosen.fetched?.finish(run.flag(i, 'keepDownload'));
		}
		return { report, chosen, keptAt, address };
	};
	// The error goes on unchanged (the item loop reports it); the item's state keeps it for its failed item.
	return work().catch((error: unknown) => {
		state.error = error;
		return Promise.reject(error);
	});
}

export interface RestoredPoint<R extends RestoreReport> {
	report: R;
	point: ChosenRestorePoint;
	keptAt?: string;
	address: RestoreServerAddress;
}

/**
 * Item i's restore point run: the database server, the restore point (downloaded when from a
 * destination), then `restore` on its two sets; downloads removed (or kept) afterwards.
 */
export async function restoreChosenPoint<R extends RestoreReport>(
	run: RestoreRun,
	i: number,
	restore: (sets: RestorePointSets, database: DatabaseRestoreServer, files: FilesRestoreServer) => Promise<R>,
): Promise<RestoredPoint<R>> {
	const state = run.begin(i);
	const work = async (): Promise<RestoredPoint<R>> => {
		const { server, address } = await run.server(i);
		state.address = address;
		if (server.engine === 'protheus-files') throw new Error('A restore point needs a database restore server');
		const point = await run.chooseRestorePoint(i, server);
		state.phase = 'restore';
		const shared = point.fetched?.database.shared;
		const onServer = shared && server.engine === 'sqlserver' ? { ...server, sharedFolder: () => shared } : server;
		let report: R;
		let keptAt: string | undefined;
		try {
			report = await restore(point.sets, onServer, run.filesServer(i));
		} finally {
			keptAt = await point.fetched?.finish(run.flag(i, 'keepDownload'));
		}
		return { report, point, keptAt, address };
	};
	return work().catch((error: unknown) => {
		state.error = error;
		return Promise.reject(error);
	});
}

/** Where a downloaded restore point came from, for the node's section. */
export function restorePointSource(fetched: FetchedRestorePoint, keptAt: string | undefined): IDataObject {
	return {
		destination: fetched.destination,
		remotePaths: [fetched.database.remotePath, fetched.files.remotePath],
		downloadedBytes: fetched.downloadedBytes,
		downloadMs: fetched.downloadMs,
		verified: true,
		keptAt: keptAt ?? null,
		chain: [...(fetched.database.chain ?? [fetched.database.backupId]), ...(fetched.files.chain ?? [])],
	};
}

/** The times and sizes of a restore that did not happen, in a failed item's section. */
export const NOT_RESTORED = {
	passed: false,
	restoreMs: 0,
	checksMs: 0,
	restoredBytes: 0,
	rtoMs: null,
	durationMs: null,
	bytes: 0,
} as const;

/** The failed checks of a report, for the item's error message. */
export const failedChecksText = (report: RestoreReport) =>
	report.checks
		.filter((c) => !c.ok)
		.map((c) => `${c.name}: ${c.message}`)
		.join('; ');

/** The measured RTO in a sentence, for the summaries. */
export const rtoSentence = (rtoMs: number, language: Language) =>
	language === 'pt-BR' ? `RTO medido: ${formatDuration(rtoMs, 'pt-BR')}.` : `Measured RTO: ${formatDuration(rtoMs)}.`;

/**
 * The set's fields for the item. A downloaded copy that was removed is not handed to the next
 * node: the item keeps the input's location then (its own set, if any).
 */
export function restoredSetFields(restored: RestoredSet<RestoreReport>, summary: string): IDataObject {
	const { report, chosen, keptAt } = restored;
	const manifest = report.manifest ?? chosen.manifest;
	if (!manifest) return {};
	const folder = chosen.fetched ? (keptAt ?? chosen.folder) : chosen.folder;
	const fields: IDataObject = backupItem({ manifest, folder, manifestPath: manifestPathOf(folder) }, summary);
	if (chosen.fetched && !keptAt) {
		delete fields.location;
		delete fields.manifestPath;
	}
	return fields;
}

/** Where a set from a destination came from, for the node's section. */
export function sourceSection(fetched: FetchedSet, keptAt: string | undefined): IDataObject {
	return {
		destination: fetched.destination,
		remotePath: fetched.remotePath,
		downloadedBytes: fetched.downloadedBytes,
		downloadMs: fetched.downloadMs,
		verified: true,
		keptAt: keptAt ?? null,
		// SQL Server: every set downloaded for the restore, full first
		...(fetched.chain ? { chain: fetched.chain } : {}),
	};
}

/** The measured recovery time: download (from a destination) + restore + checks. */
export const rtoMsOf = (report: RestoreReport, fetched: FetchedSet | undefined) =>
	(fetched?.downloadMs ?? 0) + report.restoreMs + report.checksMs;

/**
 * The fields of item i when it failed with an error (not a failed check): the set's fields as far
 * as they are known (the chosen set's, else what was asked for, null where unknown), and the
 * check that says where it stopped. For a set from the input item whose manifest could not be
 * read, the input's own fields stand.
 */
export function failedRestoreFields(
	ctx: IExecuteFunctions,
	run: RestoreRun,
	i: number,
): { setFields: IDataObject; checks: CheckResult[]; source?: IDataObject } {
	const state = run.state(i);
	const manifest = state?.chosen?.manifest;
	const source = safe(() => run.setSource(i), 'item' as SetSource);
	let setFields: IDataObject = {};
	if (manifest) {
		const folder = state.chosen!.folder;
		setFields = backupItem({ manifest, folder, manifestPath: manifestPathOf(folder) }, '');
		delete setFields.status;
		delete setFields.summary;
		// A download is removed after a failure: its path is no use to the next node (as on success).
		if (state.chosen!.fetched) {
			delete setFields.location;
			delete setFields.manifestPath;
		}
	} else if (source !== 'item') {
		setFields = {
			...unknownSetFields(),
			backupId: safe(() => askedBackupId(ctx, i) ?? null, null),
			environment: safe(() => String(ctx.getNodeParameter('environment', i, '') ?? '').trim() || null, null),
			component: 'database',
			// The restores refuse a set of another engine than the server's.
			engine: state?.address?.engine ?? null,
			database: null,
			serverVersion: null,
			tableCount: null,
			rowCount: null,
		};
	}
	const checks = failureChecks(state);
	if (source !== 'destination') return { setFields, checks };
	const fetched = state?.chosen?.fetched;
	const environment = (setFields.environment as string | null | undefined) ?? null;
	const backupId = (setFields.backupId as string | null | undefined) ?? null;
	return {
		setFields,
		checks,
		source: {
			destination:
				fetched?.destination ?? state?.where ?? safe(() => String(ctx.getNodeParameter('destination', i)), null),
			remotePath: fetched?.remotePath ?? (environment && backupId ? `${environment}/${backupId}` : null),
			downloadedBytes: fetched?.downloadedBytes ?? null,
			downloadMs: fetched?.downloadMs ?? null,
			verified: Boolean(fetched),
			keptAt: null,
			...(state?.address?.engine === 'sqlserver' ? { chain: fetched?.chain ?? [] } : {}),
		},
	};
}

/** The check that says where an item stopped, and the restore not attempted when it stopped before. */
function failureChecks(state: RestoreItemState | undefined): CheckResult[] {
	const error = state?.error;
	const message = error instanceof Error ? error.message : String(error ?? 'unknown error');
	const code = isBackupError(error) ? error.code : undefined;
	if (state?.phase === 'restore')
		return [check('restore', false, 'restored and checked', code ? `stopped (${code})` : 'stopped', message)];
	const notAttempted = check(
		'restore',
		false,
		'restored',
		'not attempted',
		'The set could not be chosen or fetched, so nothing was restored',
	);
	if (state?.where)
		return [
			check(
				'download',
				false,
				'a verified copy',
				code === 'VERIFY_FAILED' ? 'failed verification' : 'not downloaded',
				message,
			),
			notAttempted,
		];
	return [
		check('set', false, 'a complete database set', code === 'SET_NOT_FOUND' ? 'not found' : 'not read', message),
		notAttempted,
	];
}

/** A parameter read for a failed item must not hide the error being reported. */
function safe<T>(read: () => T, fallback: T): T {
	try {
		return read();
	} catch {
		return fallback;
	}
}

/**
 * True when the restore server is the server the set was taken from: same port and the same
 * host once loopback names are made one ("localhost", 127.x, ::1). SQL Server: host, instance and
 * port as the credential and the manifest name them. Used for a warning only; the restores'
 * own guards (core) also resolve names.
 */
/**
 * Restore Test's "on the set's own source server": core's verdict when it has one (PostgreSQL:
 * system_identifier, so production reached under another name or address is still caught),
 * else the credential's address against the manifest's (isSetSourceServer).
 */
export function onSetSourceServer(
	report: { onSourceServer?: boolean },
	manifest: Manifest,
	address: RestoreServerAddress,
): boolean {
	return report.onSourceServer ?? isSetSourceServer(manifest, address);
}

export function isSetSourceServer(manifest: Manifest, address: RestoreServerAddress): boolean {
	// A files set is restored into a folder, never onto the backed-up host's own tree.
	if (manifest.engine !== address.engine || address.engine === 'protheus-files') return false;
	if (address.engine === 'postgres') {
		const { source } = manifestOf(manifest, 'postgres');
		return source.port === address.port && sameHost(source.host, address.host);
	}
	const { source } = manifestOf(manifest, 'sqlserver');
	return (
		sameHost(source.host, address.host) &&
		(source.instance ?? '').toLowerCase() === (address.instance ?? '').toLowerCase() &&
		(source.port ?? 0) === (address.port ?? 0)
	);
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/;
const hostKey = (host: string) => {
	const lower = host.trim().toLowerCase();
	return LOOPBACK.test(lower) ? 'loopback' : lower;
};
const sameHost = (a: string, b: string) => hostKey(a) === hostKey(b);
