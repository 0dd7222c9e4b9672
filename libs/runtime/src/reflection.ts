/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`, from @grpc/reflection) whose
 * descriptor index is built on the first reflection call, not at start.
 *
 * Why: parsing a server's protos and indexing their descriptors for reflection was ~11 % of
 * `make run`'s start-up CPU (four servers), for a service that tools call by hand. The
 * ServerReflection service definitions themselves (reflection.proto) are loaded once per
 * process and shared by every server; each server's protos are parsed when a reflection
 * call first arrives, then kept. A missing proto file still fails the start.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { errorText } from '@perpmesh/core';
import type { Logger } from './logger.js';

export interface ReflectionProtos {
  /** The .proto files to describe (relative to one of `includeDirs`, or absolute). */
  readonly protoFiles: readonly string[];
  /** Import roots for `protoFiles`. */
  readonly includeDirs: readonly string[];
}

type ServerReflectionInfo = (call: grpc.ServerDuplexStream<unknown, unknown>) => void;

interface ReflectionEndpoint {
  readonly definition: grpc.ServiceDefinition;
  /** The library's handler of the bidi stream (its only method), by method path. */
  readonly handler: ServerReflectionInfo;
}

/** The reflection services as @grpc/reflection adds them to a server, keyed by method path. */
function reflectionEndpoints(pkg: protoLoader.PackageDefinition): Map<string, ReflectionEndpoint> {
  const endpoints = new Map<string, ReflectionEndpoint>();
  new ReflectionService(pkg).addToServer({
    addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) {
      for (const [name, method] of Object.entries(definition)) {
        endpoints.set(method.path, { definition, handler: implementation[name] as ServerReflectionInfo });
      }
    },
  });
  return endpoints;
}

/** Loaded once per process: only the service definitions are used (an empty package). */
let sharedDefinitions: Map<string, ReflectionEndpoint> | undefined;

/** The .proto files of `protos` that are in none of its include dirs. */
export function missingProtoFiles(protos: ReflectionProtos): string[] {
  return protos.protoFiles.filter((file) =>
    isAbsolute(file) ? !existsSync(file) : !protos.includeDirs.some((dir) => existsSync(join(dir, file))),
  );
}

/**
 * Adds reflection over `protos` to `server`; the protos are parsed on the first reflection
 * call. Throws now when a proto file is missing (a packaging error shows at start).
 */
export function addLazyReflection(server: grpc.Server, protos: ReflectionProtos, logger: Logger): void {
  const missing = missingProtoFiles(protos);
  if (missing.length > 0) {
    throw new Error(
      `gRPC reflection: proto file(s) ${missing.join(', ')} not found in ${protos.includeDirs.join(', ') || '(no include dirs)'}`,
    );
  }
  sharedDefinitions ??= reflectionEndpoints({});
  let built: Map<string, ReflectionEndpoint> | undefined;
  const endpoints = () => {
    built ??= reflectionEndpoints(
      protoLoader.loadSync([...protos.protoFiles], { includeDirs: [...protos.includeDirs] }),
    );
    return built;
  };
  const services = new Map<grpc.ServiceDefinition, grpc.UntypedServiceImplementation>();
  for (const [path, { definition }] of sharedDefinitions) {
    const methodName = Object.keys(definition).find((name) => definition[name]?.path === path) as string;
    const implementation = services.get(definition) ?? {};
    implementation[methodName] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      let handler: ServerReflectionInfo;
      try {
        handler = (endpoints().get(path) as ReflectionEndpoint).handler;
      } catch (err) {
        logger.error({ err }, 'gRPC reflection: the protos could not be loaded');
        call.emit('error', {
          code: grpc.status.INTERNAL,
          details: `reflection unavailable: ${errorText(err)}`,
        });
        return;
      }
      handler(call);
    };
    services.set(definition, implementation);
  }
  for (const [definition, implementation] of services) server.addService(definition, implementation);
}
