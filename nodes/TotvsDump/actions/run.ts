import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import type { PostgresConnection } from '../../../core/sources/postgres';
import type { SqlServerConnection } from '../../../core/sources/sqlserver';
import { POSTGRES_CREDENTIAL, postgresConnection } from '../../shared/postgres-credential';
import { SQLSERVER_CREDENTIAL, sqlServerConnection } from '../../shared/sqlserver-credential';
import { failedDumpFields } from '../../shared/backup-item';

/**
 * What TOTVS Dump's sources share during one execution: the server credential, read once, on
 * the first item that needs it (a credential that cannot be read fails each item, which Continue
 * On Fail then reports), and the parameters every source reads.
 */
export interface DumpRun {
	postgres(): Promise<PostgresConnection>;
	sqlServer(): Promise<SqlServerConnection>;
	environment(itemIndex: number): string;
	stagingFolder(itemIndex: number): string;
}

export function openDumpRun(ctx: IExecuteFunctions): DumpRun {
	let postgres: Promise<PostgresConnection> | undefined;
	let sqlServer: Promise<SqlServerConnection> | undefined;
	return {
		postgres: () => (postgres ??= ctx.getCredentials(POSTGRES_CREDENTIAL).then(postgresConnection)),
		sqlServer: () => (sqlServer ??= ctx.getCredentials(SQLSERVER_CREDENTIAL).then(sqlServerConnection)),
		environment: (i) => ctx.getNodeParameter('environment', i) as string,
		stagingFolder: (i) => ctx.getNodeParameter('stagingFolder', i, '') as string,
	};
}

/**
 * A database set that was asked for, not made: the fields of a success, with the database the
 * credential names (left out when the credential itself failed).
 */
export async function failedDatabaseDump(
	connection: Promise<{ database: string }>,
	fields: { environment: string; engine: 'postgres' | 'sqlserver' | 'postgres-pitr'; type: string },
	startedAt: Date,
): Promise<IDataObject> {
	const database = await connection.then(
		(c) => c.database,
		() => undefined,
	);
	return failedDumpFields({ ...fields, component: 'database', database }, startedAt);
}
