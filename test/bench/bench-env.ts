/**
 * Environment of the benchmark process. Imported first by `run.ts`: the handler's telemetry module
 * reads it when it loads. Metrics and logs are switched off so stdout carries only the results (their
 * cost in Lambda, one EMF blob and one log line per batch, is small next to 100 records of work).
 */
process.env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'ingest-bench';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'ProfileStream';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.LOG_LEVEL = 'SILENT';

export {};
