"""Metric families that OpenSAN's /metrics and `opensan exporter` both write, declared once so
that their names cannot drift apart (dashboards and alert rules rely on them). Nothing of
OpenSAN's is imported here: the server and the SDK-side exporter may both use it."""

# Sensors whose value is a number in one of these units -> (family, unit, scale, help).
SENSOR_VALUES = {
    "C": ("opensan_sensor_temperature_celsius", "celsius", 1.0, "Temperature sensors, in C."),
    "V": ("opensan_sensor_voltage_volts", "volts", 1.0, "Voltage sensors, in volts."),
    "RPM": ("opensan_sensor_fan_speed_rpm", "", 1.0, "Fan speeds, in revolutions a minute."),
    "%": ("opensan_sensor_charge_ratio", "", 0.01,
          "Charge of cache-protection modules (super capacitors, batteries), 0 to 1."),
}
