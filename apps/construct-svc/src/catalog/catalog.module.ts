import { Module } from '@nestjs/common';
import { CatalogHandler } from './catalog.handler';
import { CatalogService } from './catalog.service';

@Module({ providers: [CatalogService, CatalogHandler], exports: [CatalogService] })
export class CatalogModule {}
