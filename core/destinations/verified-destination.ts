/**
 * The transfer half of the Destination interface, written once: a backend provides its
 * TransferDriver, and put / get / readSmallFile are verified-put and verified-get over it.
 */
import type {
	Destination,
	DestinationKind,
	ExclusiveCreateGuarantee,
	GetResult,
	PutOptions,
	PutResult,
	RemoteEntry,
	RemoteFileInfo,
	StatOptions,
	TransferOptions,
} from './destination';
import type { FoundFile, TransferDriver } from './driver';
import { readSmall, verifiedGet } from './verified-get';
import { verifiedPut } from './verified-put';

export abstract class VerifiedDestination<F extends FoundFile = FoundFile> implements Destination {
	abstract readonly kind: DestinationKind;
	abstract readonly exclusiveCreate: ExclusiveCreateGuarantee;
	protected abstract readonly driver: TransferDriver<F>;

	/** Where a transfer runs; a backend whose connection takes one command at a time queues it (FTP). */
	protected transfer<T>(operation: () => Promise<T>): Promise<T> {
		return operation();
	}

	put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		return this.transfer(() => verifiedPut(this.driver, localFile, remotePath, options));
	}

	get(remotePath: string, localFile: string, options: TransferOptions = {}): Promise<GetResult> {
		return this.transfer(() => verifiedGet(this.driver, remotePath, localFile, options));
	}

	readSmallFile(remotePath: string, maxBytes = 1 << 20): Promise<Buffer | null> {
		return this.transfer(() => readSmall(this.driver, remotePath, maxBytes));
	}

	abstract describe(): string;
	abstract list(folder: string): Promise<RemoteEntry[]>;
	abstract stat(remotePath: string, options?: StatOptions): Promise<RemoteFileInfo | null>;
	abstract remove(remotePath: string): Promise<void>;
	abstract removeFolder(remotePath: string): Promise<void>;
	abstract createExclusive(remotePath: string, content: string | Buffer): Promise<boolean>;
	abstract close(): Promise<void>;
}
