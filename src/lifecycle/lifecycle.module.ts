import { Module } from '@nestjs/common';
import { Lifecycle } from './lifecycle.js';

/** The process's draining state: set by the graceful stop, read by readiness and the HTTP hooks. */
@Module({ providers: [Lifecycle], exports: [Lifecycle] })
export class LifecycleModule {}
