import type * as Mssql from 'mssql';
import { describeSqlServer, mssqlConfig, type SqlServerConnection } from './connection';
import { connectionError, sqlServerError } from './errors';
import { SqlError, type QueryOptions, type SqlMessage, type SqlResult, type SqlRunner } from './runner';

interface DriverMessage {
	number?: number;
	class?: number | string;
	message?: string;
}

/**
 * mssql loads on the first SQL Server connection, not with the nodes: with tedious and
 * @azure/identity it is about 430 modules that PostgreSQL-only users would otherwise load at
 * every n8n start (test/unit/footprint.test.ts holds this).
 */
const loadMssql = async (): Promise<typeof Mssql> => (await import('mssql')).default;

const toMessage = (m: DriverMessage): SqlMessage => ({
	number: Number(m.number ?? 0),
	severity: Number(m.class ?? 0),
	message: String(m.message ?? ''),
});

/** The SqlRunner of a real server, over mssql (tedious). One connection, statements run serially. */
class MssqlRunner implements SqlRunner {
	readonly description: string;

	constructor(
		private readonly sql: typeof Mssql,
		private readonly pool: Mssql.ConnectionPool,
		private readonly connection: SqlServerConnection,
		database: string,
	) {
		this.description = describeSqlServer({ ...connection, database });
	}

	async query(
		statement: string,
		params: Record<string, string | number | boolean | null> = {},
		options: QueryOptions = {},
	): Promise<SqlResult> {
		// The second argument (per-request timeout overrides) exists in mssql 10+ but not in its typings.
		const RequestWithOverrides = this.sql.Request as unknown as new (
			pool: Mssql.ConnectionPool,
			overrides: { requestTimeout?: number },
		) => Mssql.Request;
		const request = new RequestWithOverrides(
			this.pool,
			options.timeoutMs === undefined ? {} : { requestTimeout: options.timeoutMs },
		);
		for (const [name, value] of Object.entries(params)) request.input(name, value);
		const messages: SqlMessage[] = [];
		request.on('info', (info: DriverMessage) => {
			const message = toMessage(info);
			messages.push(message);
			options.onMessage?.(message);
		});
		const cancel = () => request.cancel();
		options.signal?.addEventListener('abort', cancel, { once: true });
		try {
			const result = await request.query(statement);
			const recordsets = (Array.isArray(result.recordsets)
				? result.recordsets
				: []) as unknown as SqlResult['recordsets'];
			return { recordsets: recordsets.map((set) => [...set]), messages };
		} catch (error) {
			const driver = error as DriverMessage & { precedingErrors?: DriverMessage[]; code?: string };
			if (driver.number === undefined) throw sqlServerError(error, this.connection);
			const errors = [...(driver.precedingErrors ?? []), driver].map(toMessage);
			throw new SqlError(String(driver.message), Number(driver.number), errors, messages, { cause: error });
		} finally {
			options.signal?.removeEventListener('abort', cancel);
		}
	}

	async close(): Promise<void> {
		await this.pool.close().catch(() => undefined);
	}
}

/** Connects to `database` (the credential's by default), turning failures into clear errors. */
export async function connectSqlServer(
	connection: SqlServerConnection,
	database = connection.database,
): Promise<SqlRunner> {
	const sql = await loadMssql();
	const pool = new sql.ConnectionPool(mssqlConfig(connection, database));
	// An idle connection dropped by the server must not crash n8n's process.
	pool.on('error', () => undefined);
	try {
		await pool.connect();
	} catch (error) {
		await pool.close().catch(() => undefined);
		throw connectionError(error, connection);
	}
	return new MssqlRunner(sql, pool, connection, database);
}
