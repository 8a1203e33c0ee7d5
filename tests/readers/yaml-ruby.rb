# Read YAML files with Ruby's Psych (safe_load, aliases allowed, dates permitted) for the reader
# battery. Usage: ruby yaml-ruby.rb < file-names
# Prints {file: {"doc": node} | {"error": why}}, nodes typed as in yaml-python.py.
require "yaml"
require "json"
require "date"

def typed(node)
  case node
  when true, false then ["bool", node]
  when nil then ["null"]
  when String then ["str", node]
  when Integer then ["int", node.to_s]
  when Float then ["float", node.to_s]
  when Date, Time then ["date", node.iso8601]
  when Symbol then ["symbol", node.to_s]
  when Hash then { "map" => node.map { |k, v| [typed(k), typed(v)] } }
  when Array then { "seq" => node.map { |v| typed(v) } }
  else ["other", node.class.name]
  end
end

out = {}
$stdin.read.split("\n").each do |name|
  next if name.empty?
  begin
    text = File.read(name, encoding: "UTF-8")
    doc = Psych.safe_load(text, permitted_classes: [Date, Time, Symbol], aliases: true)
    out[name] = { "doc" => typed(doc) }
  rescue StandardError, Psych::Exception => e
    out[name] = { "error" => e.class.name }
  end
end
$stdout.write(JSON.generate(out))
