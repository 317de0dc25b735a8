const mb = () => { const m = process.memoryUsage(); return `rss ${(m.rss/1048576).toFixed(0)} heap ${(m.heapUsed/1048576).toFixed(0)} ext ${(m.external/1048576).toFixed(0)} ab ${(m.arrayBuffers/1048576).toFixed(0)}`; };
console.log('start', mb());
for (const mod of ['graphql', 'graphql-yoga', 'ioredis', 'postgres', 'drizzle-orm', 'pino', 'prom-client', 'zod', '@envelop/response-cache', '@envelop/graphql-jit', '@escape.tech/graphql-armor', '@electric-sql/pglite', 'lru-cache', '@msgpack/msgpack']) {
  try { await import(mod); console.log(mod, mb()); } catch (e) { console.log(mod, 'ERR', e.message.slice(0,80)); }
}
