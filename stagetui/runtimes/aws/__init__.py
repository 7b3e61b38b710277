"""The aws runtime: snapshot environments restored from snapshot sets of production's RDS database, EBS
volumes and S3 seed files, configured in SSM Parameter Store, found and removed by tag."""
