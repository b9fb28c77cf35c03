/**
 * The one seam between the SQL Server engine and a server: run a batch, get its result sets and
 * the server's messages. The mssql-backed runner talks to a real server; tests script a fake.
 */

/** An informational or error message from the server (PRINT, STATS progress, DBCC output). */
export interface SqlMessage {
	number: number;
	/** Severity: 0-10 informational, 11+ errors. */
	severity: number;
	message: string;
}

export type SqlRow = Record<string, unknown>;

export interface SqlResult {
	recordsets: SqlRow[][];
	/** Informational messages, in order (errors end the batch and are in the thrown SqlError). */
	messages: SqlMessage[];
}

export interface QueryOptions {
	/** Called as each message arrives (progress of a long BACKUP or RESTORE). */
	onMessage?: (message: SqlMessage) => void;
	/** Milliseconds; 0 waits as long as the statement runs (backups, restores, DBCC). */
	timeoutMs?: number;
	signal?: AbortSignal;
}

export interface SqlRunner {
	/** `params` are bound as @name; names and paths in statement text are quoted by tsql.ts. */
	query(
		sql: string,
		params?: Record<string, string | number | boolean | null>,
		options?: QueryOptions,
	): Promise<SqlResult>;
	close(): Promise<void>;
	/** Says where the runner is connected, for messages: "sa@db01:1433/protheus". */
	readonly description: string;
}

/** A batch that failed: every error the server raised, and the messages before them. */
export class SqlError extends Error {
	constructor(
		message: string,
		/** The last error's number (18456 login failed, 3201 cannot open backup device…). */
		readonly number: number,
		/** Every error of the batch, first to last (DBCC CHECKDB reports one per problem). */
		readonly errors: SqlMessage[],
		readonly messages: SqlMessage[],
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = 'SqlError';
	}
}

export const isSqlError = (error: unknown): error is SqlError => error instanceof SqlError;

/** First recordset of a result (most statements return one). */
export const rowsOf = <T = SqlRow>(result: SqlResult, index = 0): T[] => (result.recordsets[index] ?? []) as T[];

/** The server's messages as one line for a report: the first `max`, and how many more. */
export const messagesText = (messages: SqlMessage[], max = 10) =>
	messages
		.slice(0, max)
		.map((m) => `Msg ${m.number}: ${m.message}`)
		.join(' ') + (messages.length > max ? ` … and ${messages.length - max} more` : '');
