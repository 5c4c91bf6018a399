"""The sandbox's GuardDuty: the operations moto lacks (publishing destinations, sample findings,
list/get/archive findings) and the S3 export. ``extension.install(gateway)`` wires it into the gateway."""
