import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.resource.*;

/** Verifies the least-privilege ACL table in README.md / server.properties against a running local
 *  cluster. For each admin call: grant exactly the documented ACL set to a fresh SCRAM user "lp",
 *  expect success; then drop
 *  each ACL of the set in turn and expect failure. Leaves user "lp" and topics/groups "lp-*" behind:
 *  use a throwaway cluster. Exit code 1 on any unexpected result. */
public class AclCheck {
  // usage: kafka.sh run-class dev/kafka/AclCheck.java [bootstrap] (env KAFKA_ADMIN_PASSWORD)
  static String BOOT = "127.0.0.1:19092";
  static Admin admin, lp;
  static int seq = 0;

  static Properties props(String user, String pw) {
    Properties p = new Properties();
    p.put("bootstrap.servers", BOOT);
    p.put("security.protocol", "SASL_PLAINTEXT");
    p.put("sasl.mechanism", "SCRAM-SHA-512");
    p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\"" + pw + "\";");
    p.put("default.api.timeout.ms", "15000");
    p.put("request.timeout.ms", "10000");
    return p;
  }
  record A(ResourceType type, String name, PatternType pt, AclOperation op) {
    AclBinding binding() { return new AclBinding(new ResourcePattern(type, name, pt), new AccessControlEntry("User:lp", "*", op, AclPermissionType.ALLOW)); }
    public String toString() { return type + ":" + (pt == PatternType.PREFIXED ? name + "*" : name) + ":" + op; }
  }
  static A cluster(AclOperation op) { return new A(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL, op); }
  static A topic(String n, AclOperation op) { return new A(ResourceType.TOPIC, n, PatternType.LITERAL, op); }
  static A topicPrefix(String n, AclOperation op) { return new A(ResourceType.TOPIC, n, PatternType.PREFIXED, op); }
  static A group(String n, AclOperation op) { return new A(ResourceType.GROUP, n, PatternType.LITERAL, op); }

  interface Call { String run() throws Exception; } // returns null on success, else failure text

  static void grant(List<A> acls) throws Exception {
    admin.deleteAcls(List.of(new AclBindingFilter(ResourcePatternFilter.ANY,
        new AccessControlEntryFilter("User:lp", null, AclOperation.ANY, AclPermissionType.ANY)))).all().get();
    if (!acls.isEmpty()) admin.createAcls(acls.stream().map(A::binding).toList()).all().get();
    Thread.sleep(700); // let the broker's authorizer apply the metadata change
  }
  static String err(Throwable t) { while (t instanceof ExecutionException && t.getCause() != null) t = t.getCause(); return t.getClass().getSimpleName(); }
  static String attempt(Call c) { try { return c.run(); } catch (Exception e) { return err(e); } }

  static int failures = 0;
  static void check(String name, List<A> needed, Call c) throws Exception {
    grant(needed);
    String ok = attempt(c);
    StringBuilder sb = new StringBuilder(String.format("%-44s %-70s with all: %s", name, needed, ok == null ? "OK" : "FAIL(" + ok + ")"));
    if (ok != null) failures++;
    for (A drop : needed) {
      List<A> less = new ArrayList<>(needed); less.remove(drop);
      grant(less);
      String r = attempt(c);
      sb.append(String.format("; without %s: %s", drop, r == null ? "OK(!)" : "denied(" + r + ")"));
      if (r == null) failures++;
    }
    if (needed.isEmpty()) sb.append(" (no ACL needed)");
    System.out.println(sb);
  }

  public static void main(String[] a) throws Exception {
    if (a.length > 0) BOOT = a[0];
    admin = Admin.create(props("portal-admin", System.getenv().getOrDefault("KAFKA_ADMIN_PASSWORD", "portal-admin-secret")));
    admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("lp",
        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), "lp-secret"))).all().get();
    Thread.sleep(1000);
    lp = Admin.create(props("lp", "lp-secret"));
    String t = "lp-t1", g = "lp-g1";
    try { admin.createTopics(List.of(new NewTopic(t, 1, (short) 1))).all().get(); } catch (ExecutionException e) { if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) throw e; }
    TopicPartition tp = new TopicPartition(t, 0);
    admin.alterConsumerGroupOffsets(g, Map.of(tp, new OffsetAndMetadata(0))).all().get();
    ConfigResource topicRes = new ConfigResource(ConfigResource.Type.TOPIC, t);
    ConfigResource brokerRes = new ConfigResource(ConfigResource.Type.BROKER, "1");
    ConfigResource brokerDefault = new ConfigResource(ConfigResource.Type.BROKER, "");

    check("CreateTopics (TOPIC CREATE)", List.of(topicPrefix("lp-ct-", AclOperation.CREATE)), () -> {
      lp.createTopics(List.of(new NewTopic("lp-ct-" + (++seq), 1, (short) 1))).all().get(); return null; });
    check("CreateTopics (CLUSTER CREATE)", List.of(cluster(AclOperation.CREATE)), () -> {
      lp.createTopics(List.of(new NewTopic("lp-ct-" + (++seq), 1, (short) 1))).all().get(); return null; });
    check("CreateTopics + configs in response", List.of(topicPrefix("lp-ct-", AclOperation.CREATE), topicPrefix("lp-ct-", AclOperation.DESCRIBE_CONFIGS)), () -> {
      String n = "lp-ct-" + (++seq);
      CreateTopicsResult r = lp.createTopics(List.of(new NewTopic(n, 1, (short) 1)));
      r.all().get(); r.config(n).get(); return null; });
    check("CreatePartitions", List.of(topic(t, AclOperation.ALTER)), () -> {
      int cur = admin.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions().size();
      lp.createPartitions(Map.of(t, NewPartitions.increaseTo(cur + 1))).all().get(); return null; });
    check("IncrementalAlterConfigs TOPIC", List.of(topic(t, AclOperation.ALTER_CONFIGS)), () -> {
      lp.incrementalAlterConfigs(Map.of(topicRes, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", String.valueOf(3600000 + (++seq))), AlterConfigOp.OpType.SET)))).all().get(); return null; });
    check("DescribeConfigs TOPIC", List.of(topic(t, AclOperation.DESCRIBE_CONFIGS)), () -> {
      lp.describeConfigs(List.of(topicRes)).all().get(); return null; });
    check("IncrementalAlterConfigs BROKER (default)", List.of(cluster(AclOperation.ALTER_CONFIGS)), () -> {
      lp.incrementalAlterConfigs(Map.of(brokerDefault, List.of(new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", String.valueOf(15000 + (++seq))), AlterConfigOp.OpType.SET)))).all().get(); return null; });
    check("DescribeConfigs BROKER", List.of(cluster(AclOperation.DESCRIBE_CONFIGS)), () -> {
      lp.describeConfigs(List.of(brokerRes)).all().get(); return null; });
    check("CreateAcls", List.of(cluster(AclOperation.ALTER)), () -> {
      lp.createAcls(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, "x", PatternType.LITERAL), new AccessControlEntry("User:dummy", "*", AclOperation.READ, AclPermissionType.ALLOW)))).all().get(); return null; });
    check("DescribeAcls", List.of(cluster(AclOperation.DESCRIBE)), () -> {
      lp.describeAcls(AclBindingFilter.ANY).values().get(); return null; });
    check("DeleteAcls", List.of(cluster(AclOperation.ALTER)), () -> {
      lp.deleteAcls(List.of(new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter("User:dummy", null, AclOperation.ANY, AclPermissionType.ANY)))).all().get(); return null; });
    check("AlterUserScramCredentials", List.of(cluster(AclOperation.ALTER)), () -> {
      lp.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("dummy", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), "dummy-secret"))).all().get(); return null; });
    check("DescribeUserScramCredentials", List.of(cluster(AclOperation.DESCRIBE)), () -> {
      lp.describeUserScramCredentials().all().get(); return null; });
    Call listGroups = () -> {
      Collection<GroupListing> gs = lp.listGroups().all().get();
      return gs.stream().anyMatch(x -> x.groupId().equals(g)) ? null : "group-not-listed(" + gs.size() + " groups)"; };
    check("ListGroups (CLUSTER DESCRIBE)", List.of(cluster(AclOperation.DESCRIBE)), listGroups);
    check("ListGroups (GROUP DESCRIBE)", List.of(group(g, AclOperation.DESCRIBE)), listGroups);
    check("DescribeGroups (describeConsumerGroups)", List.of(group(g, AclOperation.DESCRIBE)), () -> {
      ConsumerGroupDescription d = lp.describeConsumerGroups(List.of(g)).all().get().get(g); return d == null ? "null" : null; });
    check("OffsetFetch (listConsumerGroupOffsets)", List.of(group(g, AclOperation.DESCRIBE), topic(t, AclOperation.DESCRIBE)), () -> {
      Map<TopicPartition, OffsetAndMetadata> m = lp.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get();
      return m.containsKey(tp) ? null : "partition-missing(" + m.size() + ")"; });
    check("ListOffsets (latest)", List.of(topic(t, AclOperation.DESCRIBE)), () -> {
      lp.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get(); return null; });
    check("Metadata (describeTopics)", List.of(topic(t, AclOperation.DESCRIBE)), () -> {
      lp.describeTopics(List.of(t)).allTopicNames().get(); return null; });
    check("Metadata (listTopics shows topic)", List.of(topic(t, AclOperation.DESCRIBE)), () -> {
      return lp.listTopics().names().get().contains(t) ? null : "topic-not-listed"; });
    check("DescribeCluster", List.of(), () -> { lp.describeCluster().nodes().get(); return null; });
    check("DeleteTopics", List.of(topicPrefix("lp-dt-", AclOperation.DELETE)), () -> {
      String n = "lp-dt-" + (++seq);
      admin.createTopics(List.of(new NewTopic(n, 1, (short) 1))).all().get();
      lp.deleteTopics(List.of(n)).all().get(); return null; });
    check("DeleteRecords", List.of(topic(t, AclOperation.DELETE)), () -> {
      lp.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(0))).all().get(); return null; });
    check("AlterConsumerGroupOffsets", List.of(group(g, AclOperation.READ), topic(t, AclOperation.READ)), () -> {
      lp.alterConsumerGroupOffsets(g, Map.of(tp, new OffsetAndMetadata(0))).all().get(); return null; });
    check("DeleteConsumerGroups", List.of(new A(ResourceType.GROUP, "lp-dg-", PatternType.PREFIXED, AclOperation.DELETE)), () -> {
      String n = "lp-dg-" + (++seq);
      admin.alterConsumerGroupOffsets(n, Map.of(tp, new OffsetAndMetadata(0))).all().get();
      lp.deleteConsumerGroups(List.of(n)).all().get(); return null; });
    grant(List.of());
    System.out.println(failures == 0 ? "ALL EXPECTATIONS MET" : failures + " UNEXPECTED RESULTS");
    lp.close(); admin.close();
    System.exit(failures == 0 ? 0 : 1);
  }
}
