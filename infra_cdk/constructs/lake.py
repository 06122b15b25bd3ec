"""The lake's Glue tables (from barometer/lake.py) and the Firehose streams that fill the lake."""
from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from barometer.catalogue import DeliveryStreamSpec
from barometer.lake import LAKE_SCHEMAS, PARTITION_COLUMN

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def lake_table(scope: Construct, database: glue.CfnDatabase, table: str, bucket: s3.IBucket,
               prefix: str) -> glue.CfnTable:
    """The Glue table of one lake table: Parquet under `prefix`, partitioned by dt."""
    cfn = glue.CfnTable(
        scope, f"{table.capitalize()}Table",
        catalog_id=Aws.ACCOUNT_ID,
        database_name=database.ref,
        table_input=glue.CfnTable.TableInputProperty(
            name=table,
            description=f"Lake table {table} (columns from barometer/lake.py)",
            table_type="EXTERNAL_TABLE",
            parameters={"classification": "parquet", "parquet.compression": "SNAPPY"},
            partition_keys=[glue.CfnTable.ColumnProperty(name=PARTITION_COLUMN, type="string")],
            storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                columns=[glue.CfnTable.ColumnProperty(name=name, type=kind) for name, kind in LAKE_SCHEMAS[table]],
                location=bucket.s3_url_for_object(prefix),
                input_format=PARQUET_INPUT,
                output_format=PARQUET_OUTPUT,
                serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
            ),
        ),
    )
    return cfn


class LakeDeliveryStream(Construct):
    """A Firehose delivery stream into the lake, as the catalogue describes it.

    gzip-jsonl: Kinesis source, records kept exactly as received, one per line, prefix `raw/dt=`.
    parquet: direct put of JSON records carrying the lake columns plus `dt`; converted to Parquet with
    the Glue table's schema and partitioned on `dt` by dynamic partitioning.
    """

    def __init__(self, scope: Construct, spec: DeliveryStreamSpec, *, bucket: s3.IBucket, data_key: kms.IKey,
                 log_key: kms.IKey, source_stream: kinesis.IStream | None = None,
                 glue_database: glue.CfnDatabase | None = None, glue_table: glue.CfnTable | None = None) -> None:
        super().__init__(scope, spec.logical_id)
        stack = Stack.of(self)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", encryption_key=log_key, retention=logs.RetentionDays.ONE_MONTH)
        log_stream = self.log_group.add_stream("S3Delivery")
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal(
            "firehose.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}))
        bucket.grant_read_write(self.role)
        data_key.grant_encrypt_decrypt(self.role)
        self.log_group.grant_write(self.role)
        logging = firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
            enabled=True, log_group_name=self.log_group.log_group_name, log_stream_name=log_stream.log_stream_name)
        buffering = firehose.CfnDeliveryStream.BufferingHintsProperty(
            interval_in_seconds=spec.buffer_seconds, size_in_m_bs=spec.buffer_mb)
        s3_encryption = firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
            kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                awskms_key_arn=data_key.key_arn))
        error_prefix = f"{spec.error_prefix}!{{firehose:error-output-type}}/dt=!{{timestamp:yyyy-MM-dd}}/"

        if spec.output_format == "gzip-jsonl":
            if source_stream is None:
                raise ValueError(f"{spec.logical_id}: a gzip-jsonl delivery stream reads a Kinesis stream")
            source_stream.grant_read(self.role)
            destination = firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn, role_arn=self.role.role_arn,
                prefix=f"{spec.prefix}dt=!{{timestamp:yyyy-MM-dd}}/", error_output_prefix=error_prefix,
                compression_format="GZIP", buffering_hints=buffering, encryption_configuration=s3_encryption,
                cloud_watch_logging_options=logging,
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True, processors=[firehose.CfnDeliveryStream.ProcessorProperty(
                        type="AppendDelimiterToRecord")]),
            )
            self.resource = firehose.CfnDeliveryStream(
                self, "Resource", delivery_stream_name=spec.local_name, delivery_stream_type="KinesisStreamAsSource",
                kinesis_stream_source_configuration=firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
                    kinesis_stream_arn=source_stream.stream_arn, role_arn=self.role.role_arn),
                extended_s3_destination_configuration=destination,
            )
        elif spec.output_format == "parquet":
            if glue_database is None or glue_table is None:
                raise ValueError(f"{spec.logical_id}: a parquet delivery stream needs its Glue table")
            table_name = spec.lake_table or ""
            self.role.add_to_policy(iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=glue_database.ref),
                    stack.format_arn(service="glue", resource="table",
                                     resource_name=f"{glue_database.ref}/{table_name}"),
                ],
            ))
            destination = firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn, role_arn=self.role.role_arn,
                prefix=f"{spec.prefix}dt=!{{partitionKeyFromQuery:dt}}/", error_output_prefix=error_prefix,
                compression_format="UNCOMPRESSED",  # Parquet compresses its pages itself (SNAPPY)
                buffering_hints=buffering, encryption_configuration=s3_encryption,
                cloud_watch_logging_options=logging,
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True, retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(duration_in_seconds=300)),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True, processors=[firehose.CfnDeliveryStream.ProcessorProperty(
                        type="MetadataExtraction",
                        parameters=[
                            firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                parameter_name="MetadataExtractionQuery", parameter_value="{dt: .dt}"),
                            firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"),
                        ])]),
                data_format_conversion_configuration=firehose.CfnDeliveryStream.DataFormatConversionConfigurationProperty(
                    enabled=True,
                    input_format_configuration=firehose.CfnDeliveryStream.InputFormatConfigurationProperty(
                        deserializer=firehose.CfnDeliveryStream.DeserializerProperty(
                            open_x_json_ser_de=firehose.CfnDeliveryStream.OpenXJsonSerDeProperty())),
                    output_format_configuration=firehose.CfnDeliveryStream.OutputFormatConfigurationProperty(
                        serializer=firehose.CfnDeliveryStream.SerializerProperty(
                            parquet_ser_de=firehose.CfnDeliveryStream.ParquetSerDeProperty(compression="SNAPPY"))),
                    schema_configuration=firehose.CfnDeliveryStream.SchemaConfigurationProperty(
                        catalog_id=Aws.ACCOUNT_ID, database_name=glue_database.ref, table_name=table_name,
                        region=Aws.REGION, role_arn=self.role.role_arn, version_id="LATEST"),
                ),
            )
            self.resource = firehose.CfnDeliveryStream(
                self, "Resource", delivery_stream_name=spec.local_name, delivery_stream_type="DirectPut",
                delivery_stream_encryption_configuration_input=(
                    firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                        key_type="CUSTOMER_MANAGED_CMK", key_arn=data_key.key_arn)),
                extended_s3_destination_configuration=destination,
            )
            self.resource.add_resource_dependency(glue_table)
        else:
            raise ValueError(f"{spec.logical_id}: unknown output format {spec.output_format!r}")
        self.resource.node.add_dependency(self.role)
        self.delivery_stream_name = self.resource.ref
        self.delivery_stream_arn = self.resource.attr_arn

    def grant_put(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(grantee=grantee, actions=["firehose:PutRecord", "firehose:PutRecordBatch"],
                                   resource_arns=[self.delivery_stream_arn])
