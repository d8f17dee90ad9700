/** The Directory contract against the memory backend. */
import { directoryContract, memoryBackend } from './directory-contract.ts';

directoryContract(memoryBackend());
