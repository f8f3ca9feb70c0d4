import { runPagingConformance } from './storage-conformance-paging.js';
import { openPostgres, unreachable } from './postgres-test-db.js';

// The paging suite on PostgreSQL, in a file of its own so it runs beside the main suite.
const skip = await unreachable();
runPagingConformance('postgres', openPostgres, skip ? { skip } : {});
