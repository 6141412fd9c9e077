// Entry of the simulator's worker threads. Workers do not inherit the main thread's module
// hooks, so register tsx here (as bin/alto.js does) and then load the TypeScript task module.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.module)
