import type {
	IBinaryData,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { manifestPathOf } from '../../core/backup';
import { readSet } from '../../core/backup-set/catalog';
import { restoreReportHtml } from '../../core/restore-test';
import { runRestore, runRestoreTest, type RestoreReport, type RestoreRequest } from '../../core/restore-test';
import { runSqlServerSetRestore, runSqlServerSetRestoreTest } from '../../core/restore-test';
import { fetchRemoteDatabaseSet, type FetchedRemoteSet } from '../../core/restore-test';
import { fetchRemoteSqlServerChain } from '../../core/restore-test';
import type { SharedFolder } from '../../core/sources/sqlserver';
import { findLocalDatabaseSet } from '../../core/restore-test';
import { openDestination } from '../../core/destinations';
import type { PostgresConnection } from '../../core/sources/postgres';
import { backupItem } from '../shared/backup-item';
import {
	destinationConfigOf,
	testFtpCredential,
	testGoogleDriveCredential,
	testSftpCredential,
	type DestinationChoice,
} from '../shared/destination-credentials';
import {
	POSTGRES_CREDENTIAL,
	POSTGRES_CREDENTIAL_TEST,
	postgresConnection,
	testPostgresCredential,
} from '../shared/postgres-credential';
import { ItemFailure, forEachBackupItem } from '../shared/run-items';
import { sharedFolderOf, sqlServerRestoreServer } from '../shared/sqlserver-access';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { restoreTestSummary, type Language } from '../shared/summary';
import { restoreTestProperties } from './description';

export class TotvsRestoreTest implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Restore Test',
		name: 'totvsRestoreTest',
		icon: 'file:totvsRestoreTest.svg',
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ $parameter["operation"] === "restore" ? "Restore into " + $parameter["targetDatabase"] : "Restore test" }}',
		description:
			'Prove a TOTVS backup restores: restore it into a scratch database, check the ERP data against the manifest, drop it. Also restores a set for real.',
		defaults: { name: 'TOTVS Restore Test' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: undefined, // not for AI agents: n8n offers a tool node with all its operations, and Restore replaces a database
		// The restore server: usually its own credential of the same type as production's.
		// '/restoreServer' (the same root-level parameter) rather than 'restoreServer': n8n's editor
		// takes a parameter whose every value selects a credential as the node's main auth field and
		// hides it, and the parameters its display conditions name (Backup Set), from the node panel.
		credentials: [
			{
				name: 'totvsPostgres',
				required: true,
				testedBy: 'totvsPostgresConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['postgres'] } },
			},
			{
				name: 'totvsSqlServer',
				required: true,
				testedBy: 'totvsSqlServerConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['sqlserver'] } },
			},
			// "From a Destination": the same destination credentials as TOTVS Upload's
			{
				name: 'totvsSftp',
				required: true,
				testedBy: 'totvsSftpConnectionTest',
				displayOptions: { show: { setSource: ['destination'], destination: ['sftp'] } },
			},
			{
				name: 'totvsFtp',
				required: true,
				testedBy: 'totvsFtpConnectionTest',
				displayOptions: { show: { setSource: ['destination'], destination: ['ftp'] } },
			},
			{
				name: 'totvsGoogleDriveApi',
				required: true,
				testedBy: 'totvsGoogleDriveConnectionTest',
				displayOptions: { show: { setSource: ['destination'], destination: ['googleDrive'] } },
			},
			// OAuth2: n8n tests it by the sign-in itself, so no testedBy
			{
				name: 'totvsGoogleDriveOAuth2Api',
				required: true,
				displayOptions: { show: { setSource: ['destination'], destination: ['googleDriveSignIn'] } },
			},
		],
		properties: restoreTestProperties,
	};

	methods = {
		credentialTest: {
			[POSTGRES_CREDENTIAL_TEST]: testPostgresCredential,
			[SQLSERVER_CREDENTIAL_TEST]: testSqlServerCredential,
			totvsSftpConnectionTest: testSftpCredential,
			totvsFtpConnectionTest: testFtpCredential,
			totvsGoogleDriveConnectionTest: testGoogleDriveCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// Read once, and only when an item restores on PostgreSQL.
		let postgres: PostgresConnection | undefined;
		const postgresServer = async () =>
			(postgres ??= postgresConnection(await this.getCredentials(POSTGRES_CREDENTIAL)));
		const language = (i: number) => this.getNodeParameter('options.language', i, 'en') as Language;
		const reports = new Map<number, IBinaryData>();
		const [output] = await forEachBackupItem(this, 'TOTVS Restore Test', language, async (_item, i) => {
			const operation = this.getNodeParameter('operation', i) as 'restoreTest' | 'restore';
			const real = operation === 'restore';
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const onSqlServer = this.getNodeParameter('restoreServer', i, 'postgres') === 'sqlserver';
			const fetched =
				this.getNodeParameter('setSource', i) === 'destination'
					? await fetchFromDestination(this, i, onSqlServer, postgresServer)
					: undefined;
			const realTarget = () => ({
				target: this.getNodeParameter('targetDatabase', i) as string,
				replaceExisting: this.getNodeParameter('replaceExisting', i, false) as boolean,
				allowSourceDatabase: this.getNodeParameter('allowSourceDatabase', i, false) as boolean,
			});
			const runPostgres = (request: RestoreRequest) =>
				real ? runRestore({ ...request, ...realTarget() }) : runRestoreTest(request);
			let folder: string;
			let report: RestoreReport & { replaced?: boolean };
			let keptAt: string | undefined;
			try {
				folder = fetched?.folder ?? (await setFolderOf(this, i));
				await checkEngineMatches(this, i, folder, onSqlServer);
				const signal = this.getExecutionCancelSignal?.();
				if (onSqlServer) {
					const { connect, address } = await sqlServerRestoreServer(this, i);
					const request = {
						folder,
						connect,
						// A downloaded chain lies in the shared folder it was downloaded into.
						sharedFolder: (recorded: SharedFolder) => fetched?.shared ?? sharedFolderOf(this, i, recorded),
						keepOnFailure: options.keepOnFailure === true,
						log: this.logger,
						signal,
					};
					report = real
						? await runSqlServerSetRestore({ ...request, ...realTarget(), address })
						: await runSqlServerSetRestoreTest(request);
				} else {
					report = await runPostgres({
						folder,
						connection: await postgresServer(),
						restore: {
							jobs: Number(options.jobs ?? 2),
							owners: options.restoreOwners === true,
							privileges: options.restorePrivileges === true,
							encoding: String(options.encoding ?? '').trim() || undefined,
						},
						freshnessDays: Number(options.freshnessDays ?? 3),
						keepOnFailure: options.keepOnFailure === true,
						log: this.logger,
						signal,
					});
				}
			} finally {
				// The download is removed (or kept, if asked) also when the restore threw.
				keptAt = await fetched?.finish(options.keepDownload === true);
			}
			if (fetched) folder = keptAt ?? folder;
			const summary = restoreTestSummary(report, language(i), real);
			this.logger.info(summary);
			if (options.htmlReport === true) {
				const html = restoreReportHtml(report, language(i), real);
				const name = `${real ? 'restore' : 'restore-test'}-${report.backupId ?? 'unknown'}.html`;
				reports.set(i, await this.helpers.prepareBinaryData(Buffer.from(html, 'utf8'), name, 'text/html'));
			}
			const section = {
				passed: report.passed,
				restoreMs: report.restoreMs,
				checksMs: report.checksMs,
				restoredBytes: report.restoredBytes,
				...(real
					? { database: report.database, replaced: report.replaced ?? false }
					: { scratchDatabase: report.database }),
				kept: report.kept,
				...(fetched ? { source: sourceOf(fetched, keptAt) } : {}),
				checks: report.checks.map((c) => ({ ...c })),
			};
			const setFields: IDataObject = report.manifest
				? backupItem({ manifest: report.manifest, folder, manifestPath: manifestPathOf(folder) }, summary)
				: {};
			if (fetched && !keptAt) {
				// The downloaded copy is gone: do not hand its path to the next node.
				delete setFields.location;
				delete setFields.manifestPath;
			}
			const json: IDataObject = { ...setFields, [real ? 'restore' : 'restoreTest']: section, summary };
			if (!report.passed) {
				const failed = report.checks.filter((c) => !c.ok);
				return new ItemFailure(
					`${real ? 'Restore' : 'Restore test'} of backup set ${report.backupId ?? folder}${fetched ? ` from ${fetched.destination}` : ''} failed: ${failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`,
					(report.kept ? `Database "${report.database}" was kept for investigation: drop it when done. ` : '') +
						(real
							? report.replaced
								? `Database "${report.database}" holds the restored copy, which passed its checks; see the failed check for what is left to do.`
								: 'The target database was not created or replaced. Restore another set, or investigate this one.'
							: 'Do not rely on this backup until a restore test passes. Make a new backup and test it; keep this set for investigation.'),
					json,
				);
			}
			return { ...json, status: 'ok' };
		});
		for (const entry of output) {
			const index = (entry.pairedItem as { item: number }).item;
			const binary = reports.get(index);
			if (!binary) continue;
			const property = this.getNodeParameter('options.htmlBinaryProperty', index, 'report') as string;
			entry.binary = { ...entry.binary, [property.trim() || 'report']: binary };
		}
		return [output];
	}
}

/** The restore server must be of the set's engine: say which to choose rather than fail inside pg_restore or RESTORE. */
async function checkEngineMatches(
	ctx: IExecuteFunctions,
	i: number,
	folder: string,
	onSqlServer: boolean,
): Promise<void> {
	// An unreadable manifest is reported by the restore test's own verification.
	const manifest = await readSet(folder).catch(() => undefined);
	if (!manifest || (manifest.engine === 'sqlserver') === onSqlServer) return;
	if (manifest.engine === 'sqlserver')
		throw new NodeOperationError(
			ctx.getNode(),
			`Backup set ${manifest.backupId} is a SQL Server backup, but the restore server is PostgreSQL`,
			{
				itemIndex: i,
				description:
					'Set "Restore Server" to SQL Server and choose a "TOTVS SQL Server" credential for the server to restore on.',
			},
		);
	throw new NodeOperationError(
		ctx.getNode(),
		`Backup set ${manifest.backupId} is a ${manifest.engine} ${manifest.component} set, but the restore server is SQL Server`,
		{
			itemIndex: i,
			description:
				manifest.engine === 'postgres'
					? 'Set "Restore Server" to PostgreSQL and choose a "TOTVS PostgreSQL" credential.'
					: 'Restore Test restores database sets (PostgreSQL or SQL Server).',
		},
	);
}

/** The set to restore: from the input item (TOTVS Dump / Verify), or chosen in a backups folder. */
async function setFolderOf(ctx: IExecuteFunctions, i: number): Promise<string> {
	if (ctx.getNodeParameter('setSource', i) === 'folder') {
		const pick = ctx.getNodeParameter('pick', i) as 'latest' | 'backupId';
		return findLocalDatabaseSet(
			ctx.getNodeParameter('backupsFolder', i) as string,
			ctx.getNodeParameter('environment', i) as string,
			pick === 'backupId' ? (ctx.getNodeParameter('backupId', i) as string) : undefined,
		);
	}
	const folder = String(ctx.getNodeParameter('setFolder', i, '') ?? '').trim();
	if (!folder)
		throw new NodeOperationError(ctx.getNode(), 'No backup set folder to restore', {
			itemIndex: i,
			description:
				'Connect TOTVS Dump or TOTVS Verify before this node, set "Backup Set Folder" to the folder holding manifest.json, or choose "From a Backups Folder".',
		});
	return folder;
}

/**
 * "From a Destination": downloads the chosen set into the staging folder and verifies it. A SQL
 * Server set comes with the sets its restore needs (full, differential, logs), into the folder
 * shared with SQL Server, which reads the files itself.
 */
async function fetchFromDestination(
	ctx: IExecuteFunctions,
	i: number,
	onSqlServer: boolean,
	postgresServer: () => Promise<PostgresConnection>,
): Promise<FetchedRemoteSet & { shared?: SharedFolder; chain?: string[] }> {
	const restoreServer = onSqlServer ? undefined : await postgresServer();
	const choice = ctx.getNodeParameter('destination', i) as DestinationChoice;
	const destination = openDestination(await destinationConfigOf(ctx, choice, i));
	try {
		const pick = ctx.getNodeParameter('pick', i) as 'latest' | 'backupId';
		const common = {
			environment: ctx.getNodeParameter('environment', i) as string,
			backupId: pick === 'backupId' ? (ctx.getNodeParameter('backupId', i) as string) : undefined,
			stagingFolder: String(ctx.getNodeParameter('stagingFolder', i, '') ?? ''),
			logger: ctx.logger,
			signal: ctx.getExecutionCancelSignal?.(),
		};
		if (!restoreServer)
			return await fetchRemoteSqlServerChain(destination, {
				...common,
				sharedFolder: (recorded) => sharedFolderOf(ctx, i, recorded),
			});
		// pg_restore of the restore server's client folder checks the archive
		return await fetchRemoteDatabaseSet(destination, {
			...common,
			verify: { pgClientFolder: restoreServer.binFolder },
		});
	} finally {
		// The restore can take long: do not hold the connection meanwhile.
		await destination.close().catch(() => undefined);
	}
}

/** Where the restored set came from, for the item. */
function sourceOf(fetched: FetchedRemoteSet & { chain?: string[] }, keptAt: string | undefined): IDataObject {
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
