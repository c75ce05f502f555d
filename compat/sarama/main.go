// Sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev) against an Eddy broker, driven by sarama.test.ts.
//
// Config.Version is left at Sarama's default, MinVersion = V0_8_2_0, so the client speaks what a Kafka 0.8.2
// broker speaks: Produce v0 with magic-0 message sets (no timestamps; with a codec, each batch is one wrapper
// message whose value is the compressed inner message set), Fetch v0 (Eddy down-converts its stored v2 batches to
// magic 0), ListOffsets v0 (offsets arrays) for the oldest and newest offsets, Metadata v0.
//
//   - produce: a SyncProducer (acks=all) sends -count messages to partition i % partitions (manual partitioner) in
//     one SendMessages call, so the async machinery batches them into multi-message sets; every message must be
//     acknowledged. Writes one JSON line per message to -acks: {"i","partition","offset"}.
//   - consume: a sarama.Consumer reads every partition from OffsetOldest up to the newest offset (ListOffsets v0)
//     and writes one JSON line per message to -out: {"partition","offset","key","value"} (hex; null stays null).
//
// Message i: key "key-<i>" (null for every 97th from 1, empty for every 53rd), value "value-<i>|" followed by
// (i % 40) repetitions of "ab\u00e9\u65e5:" (null for every 89th unless the key is null, empty for every 61st).
// The same function lives in sarama.test.ts.
//
// Prints one JSON line {"ok","problems","stats"} and exits 0 unless the arguments are wrong. Built in GOPATH mode
// against Debian's sources (GO111MODULE=off, no network): see sarama.test.ts.
package main

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type verdict struct {
	Ok       bool           `json:"ok"`
	Problems []string       `json:"problems"`
	Stats    map[string]int `json:"stats"`
}

type ack struct {
	I         int   `json:"i"`
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

type consumed struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
}

func message(i int) (key []byte, value []byte) {
	switch {
	case i%97 == 1:
		key = nil
	case i%53 == 0:
		key = []byte{}
	default:
		key = []byte(fmt.Sprintf("key-%d", i))
	}
	switch {
	case i%89 == 0 && key != nil:
		value = nil
	case i%61 == 0:
		value = []byte{}
	default:
		value = []byte(fmt.Sprintf("value-%d|", i) + strings.Repeat("ab\u00e9\u65e5:", i%40))
	}
	return key, value
}

func hexOrNull(b []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

func newConfig(compression string) (*sarama.Config, error) {
	config := sarama.NewConfig() // Version stays sarama.MinVersion (V0_8_2_0): magic-0 message sets.
	config.ClientID = "sarama-compat"
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Producer.Retry.Max = 0
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Flush.Frequency = 5 * time.Millisecond
	config.Metadata.Retry.Max = 10
	config.Metadata.Retry.Backoff = 200 * time.Millisecond
	switch compression {
	case "none":
		config.Producer.Compression = sarama.CompressionNone
	case "gzip":
		config.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		config.Producer.Compression = sarama.CompressionSnappy
	default:
		return nil, fmt.Errorf("unknown compression %q", compression)
	}
	return config, nil
}

func writeLines(path string, lines []interface{}) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func produce(brokers []string, topic string, count int, partitions int, compression string, acksPath string, v *verdict) {
	config, err := newConfig(compression)
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		return
	}
	producer, err := sarama.NewSyncProducer(brokers, config)
	if err != nil {
		v.Problems = append(v.Problems, "NewSyncProducer: "+err.Error())
		return
	}
	msgs := make([]*sarama.ProducerMessage, count)
	for i := 0; i < count; i++ {
		key, value := message(i)
		m := &sarama.ProducerMessage{Topic: topic, Partition: int32(i % partitions), Metadata: i}
		if value != nil {
			m.Value = sarama.ByteEncoder(value)
		}
		if key != nil {
			m.Key = sarama.ByteEncoder(key)
		}
		msgs[i] = m
	}
	failed := map[int]bool{}
	if err := producer.SendMessages(msgs); err != nil {
		if errs, ok := err.(sarama.ProducerErrors); ok {
			for _, e := range errs {
				failed[e.Msg.Metadata.(int)] = true
			}
			for _, e := range errs[:min(len(errs), 10)] {
				v.Problems = append(v.Problems, fmt.Sprintf("message %v: %v", e.Msg.Metadata, e.Err))
			}
			v.Problems = append(v.Problems, fmt.Sprintf("%d of %d messages failed", len(errs), count))
		} else {
			v.Problems = append(v.Problems, "SendMessages: "+err.Error())
		}
	}
	if err := producer.Close(); err != nil {
		v.Problems = append(v.Problems, "producer close: "+err.Error())
	}
	acks := make([]interface{}, 0, count)
	for _, m := range msgs {
		if !failed[m.Metadata.(int)] {
			acks = append(acks, ack{I: m.Metadata.(int), Partition: m.Partition, Offset: m.Offset})
		}
	}
	v.Stats["acked"] = len(acks)
	if err := writeLines(acksPath, acks); err != nil {
		v.Problems = append(v.Problems, err.Error())
	}
}

func consume(brokers []string, topic string, outPath string, timeout time.Duration, v *verdict) {
	config, _ := newConfig("none")
	config.Consumer.Return.Errors = true
	client, err := sarama.NewClient(brokers, config)
	if err != nil {
		v.Problems = append(v.Problems, "NewClient: "+err.Error())
		return
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		v.Problems = append(v.Problems, "NewConsumer: "+err.Error())
		return
	}
	defer consumer.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		v.Problems = append(v.Problems, "Partitions: "+err.Error())
		return
	}
	deadline := time.After(timeout)
	out := make([]interface{}, 0)
	for _, p := range partitions {
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("GetOffset(%d, newest): %v", p, err))
			continue
		}
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("GetOffset(%d, oldest): %v", p, err))
			continue
		}
		v.Stats[fmt.Sprintf("p%d.newest", p)] = int(newest)
		if newest <= oldest {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("ConsumePartition(%d): %v", p, err))
			continue
		}
		next := oldest
	read:
		for next < newest {
			select {
			case m := <-pc.Messages():
				out = append(out, consumed{Partition: m.Partition, Offset: m.Offset, Key: hexOrNull(m.Key), Value: hexOrNull(m.Value)})
				next = m.Offset + 1
			case e := <-pc.Errors():
				v.Problems = append(v.Problems, fmt.Sprintf("partition %d: %v", p, e.Err))
				break read
			case <-deadline:
				v.Problems = append(v.Problems, fmt.Sprintf("partition %d: timed out at offset %d of %d", p, next, newest))
				break read
			}
		}
		pc.Close()
	}
	v.Stats["consumed"] = len(out)
	if err := writeLines(outPath, out); err != nil {
		v.Problems = append(v.Problems, err.Error())
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	bootstrap := flag.String("bootstrap", "", "host:port")
	topic := flag.String("topic", "", "topic")
	count := flag.Int("count", 0, "messages to produce")
	partitions := flag.Int("partitions", 1, "partitions to spread the messages over (i % partitions)")
	compression := flag.String("compression", "none", "none|gzip|snappy")
	acksPath := flag.String("acks", "", "produce: JSON lines of acknowledged offsets")
	outPath := flag.String("out", "", "consume: JSON lines of consumed messages")
	timeout := flag.Duration("timeout", 60*time.Second, "consume deadline")
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sarama-compat produce|consume -bootstrap H:P -topic T [...]")
		os.Exit(2)
	}
	mode := os.Args[1]
	_ = flag.CommandLine.Parse(os.Args[2:])
	if flag.NArg() != 0 || *bootstrap == "" || *topic == "" {
		fmt.Fprintln(os.Stderr, "usage: sarama-compat produce|consume -bootstrap H:P -topic T [...]")
		os.Exit(2)
	}
	v := &verdict{Problems: []string{}, Stats: map[string]int{}}
	brokers := []string{*bootstrap}
	switch mode {
	case "produce":
		produce(brokers, *topic, *count, *partitions, *compression, *acksPath, v)
	case "consume":
		consume(brokers, *topic, *outPath, *timeout, v)
	default:
		fmt.Fprintln(os.Stderr, "mode must be produce or consume")
		os.Exit(2)
	}
	v.Ok = len(v.Problems) == 0
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}
